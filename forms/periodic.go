package forms

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/xuri/excelize/v2"

	"toso/store"
)

// The periodic report form: laid out like a Vietnamese administrative
// report (Decree 30/2020 on documents, Decree 09/2019 on reporting): the
// issuing body and the national motto at the top, a numbered form title,
// sections in Roman numerals with numbered indicators, this period, the
// period before, the change and the cumulated figure, then the DTI
// "digital society" indicators the data supports, the unit's targets,
// notes on definitions and the signature block.

// formLine is one indicator of the form.
type formLine struct {
	stt, label, unit string
	cur, last, cum   *float64 // nil: not applicable
	note             string
	section          bool // a section heading (stt in Roman numerals)
}

func val(v float64) *float64 { return &v }

// pct is 100 × n / d rounded to two decimals, or nil without a denominator.
func pct(n, d float64) *float64 {
	if d <= 0 {
		return nil
	}
	return val(math.Round(n*10000/d) / 100)
}

// periodicLines are the form's sections and indicators.
func periodicLines(p *store.Periodic, l Lang) []formLine {
	c, ls, cm := p.Cur, p.Last, p.Cum
	var out []formLine
	sec := func(stt, vi, en string) {
		out = append(out, formLine{stt: stt, label: l.pick(vi, en), section: true})
	}
	n := 0
	add := func(labelVi, labelEn, unitVi, unitEn string, get func(store.UpwardRow) float64, noteVi, noteEn string) {
		n++
		out = append(out, formLine{stt: fmt.Sprint(n), label: l.pick(labelVi, labelEn), unit: l.pick(unitVi, unitEn),
			cur: val(get(c)), last: val(get(ls)), cum: val(get(cm)), note: l.pick(noteVi, noteEn)})
	}
	state := func(labelVi, labelEn, unitVi, unitEn string, v float64, noteVi, noteEn string) {
		n++
		out = append(out, formLine{stt: fmt.Sprint(n), label: l.pick(labelVi, labelEn), unit: l.pick(unitVi, unitEn),
			cum: val(v), note: l.pick(noteVi, noteEn)})
	}
	people, times := [2]string{"Người", "People"}, [2]string{"Lượt", "Times"}

	sec("I", "TỔ CÔNG NGHỆ SỐ CỘNG ĐỒNG", "COMMUNITY DIGITAL TECHNOLOGY TEAMS")
	n = 0
	state("Số Tổ công nghệ số cộng đồng", "Teams", "Tổ", "Teams", float64(c.Teams), "Số hiện có tại ngày lập biểu", "As of the day made")
	state("Số thành viên Tổ công nghệ số cộng đồng", "Team members", people[0], people[1], float64(c.Members),
		"Thành viên và tổ trưởng đang hoạt động", "Active members and leads")
	if v := pct(float64(c.Members), float64(c.Population)); v != nil {
		n++
		out = append(out, formLine{stt: fmt.Sprint(n), label: l.pick("Số thành viên trên 100 dân", "Members per 100 residents"),
			unit: l.pick("Người/100 dân", "Per 100 residents"), cum: v,
			note: l.pick(fmt.Sprintf("DTI: tối thiểu %s", l.num(p.NationalRef["members_per_100"])),
				fmt.Sprintf("DTI: at least %s", l.num(p.NationalRef["members_per_100"])))})
	}

	sec("II", "HỖ TRỢ NGƯỜI DÂN", "CITIZENS HELPED")
	n = 0
	add("Số người dân được hỗ trợ (lần đầu)", "Citizens helped (first time)", people[0], people[1],
		func(r store.UpwardRow) float64 { return r.Citizens }, "Mỗi người tính một lần, ở lần hỗ trợ đầu tiên", "Each person once, at the first visit")
	add("Số lượt hỗ trợ", "Visits", times[0], times[1], func(r store.UpwardRow) float64 { return r.Logs }, "", "")
	for _, s := range p.Services {
		text := l.pick("Hỗ trợ thành công: ", "Helped (done): ") + l.label(s)
		add(text, text, people[0], people[1], func(r store.UpwardRow) float64 { return r.Reached[s.Code] }, "", "")
	}

	sec("III", "ĐỀ ÁN 06, DỊCH VỤ CÔNG TRỰC TUYẾN VÀ THANH TOÁN SỐ", "PROJECT 06, ONLINE PUBLIC SERVICES AND DIGITAL PAYMENT")
	n = 0
	add("Tài khoản định danh điện tử VNeID mức 2 được kích hoạt", "VNeID level 2 accounts activated", "Tài khoản", "Accounts",
		func(r store.UpwardRow) float64 { return r.Reached["vneid_l2"] }, "Đề án 06", "Project 06")
	add("Tài khoản dịch vụ công trực tuyến được tạo", "Online public service accounts created", "Tài khoản", "Accounts",
		func(r store.UpwardRow) float64 { return r.Reached["public_service_account"] }, "", "")
	add("Hồ sơ dịch vụ công trực tuyến được hỗ trợ nộp", "Online public service submissions helped", "Hồ sơ", "Submissions",
		func(r store.UpwardRow) float64 { return r.Outcomes["public_service_submission|done"] }, "Mỗi lượt nộp thành công", "Each successful submission")
	add("Người được hỗ trợ mở tài khoản thanh toán", "People helped to open a payment account", people[0], people[1],
		func(r store.UpwardRow) float64 { return r.Reached["payment_account"] }, "", "")
	add("Người được hỗ trợ thanh toán không dùng tiền mặt", "People helped to pay cashless", people[0], people[1],
		func(r store.UpwardRow) float64 { return r.Reached["cashless_payment"] }, "", "")

	sec("IV", "TẬP HUẤN, BỒI DƯỠNG KỸ NĂNG SỐ", "TRAINING IN DIGITAL SKILLS")
	n = 0
	add("Số buổi tập huấn", "Training sessions", "Buổi", "Sessions", func(r store.UpwardRow) float64 { return r.Sessions }, "Đã tổ chức", "Held")
	add("Số người tham dự", "Attendees", people[0], people[1], func(r store.UpwardRow) float64 { return r.Attendees }, "", "")
	add("Trong đó: nữ", "Of whom: women", people[0], people[1], func(r store.UpwardRow) float64 { return r.Women }, "", "")
	add("Trong đó: người dân tộc thiểu số", "Of whom: ethnic minority", people[0], people[1], func(r store.UpwardRow) float64 { return r.Minority }, "", "")
	add("Trong đó: người cao tuổi", "Of whom: elderly", people[0], people[1], func(r store.UpwardRow) float64 { return r.Elderly }, "", "")
	done := func(get func(*store.Completions) float64) (*float64, *float64, *float64) {
		return val(get(p.CurDone)), val(get(p.LastDone)), val(get(p.CumDone))
	}
	n++
	cur, last, cum := done(func(x *store.Completions) float64 { return float64(x.Completions) })
	out = append(out, formLine{stt: fmt.Sprint(n), label: l.pick("Bình dân học vụ số: lượt hoàn thành khóa học", "Bình dân học vụ số: course completions"),
		unit: times[l.idx()], cur: cur, last: last, cum: cum, note: l.pick("Theo dữ liệu nền tảng đã nhập", "From the platform's imported data")})
	n++
	cur, last, cum = done(func(x *store.Completions) float64 { return float64(x.Helped) })
	out = append(out, formLine{stt: fmt.Sprint(n), label: l.pick("Trong đó: của người dân được Tổ hỗ trợ", "Of which: by citizens the teams helped"),
		unit: times[l.idx()], cur: cur, last: last, cum: cum})
	n++
	out = append(out, formLine{stt: fmt.Sprint(n), label: l.pick("Tỷ lệ người được Tổ hỗ trợ đã hoàn thành khóa học", "Share of citizens helped who completed a course"),
		unit: "%", cur: pct(float64(p.CurDone.HelpedCompleters), c.Citizens), last: pct(float64(p.LastDone.HelpedCompleters), ls.Citizens),
		cum:  pct(float64(p.CumDone.HelpedCompleters), cm.Citizens),
		note: l.pick("Người hoàn thành đã được hỗ trợ / người được hỗ trợ trong kỳ", "Helped completers / citizens helped in the period")})

	sec("V", "KHÓ KHĂN, VƯỚNG MẮC KHI HỖ TRỢ", "BARRIERS MET")
	n = 0
	for _, b := range p.Barriers {
		add(l.label(b), l.label(b), times[0], times[1], func(r store.UpwardRow) float64 { return r.Barriers[b.Code] }, "", "")
	}

	sec("VI", "CHỈ SỐ XÃ HỘI SỐ (DTI CẤP TỈNH) DỮ LIỆU CỦA TỔ ĐÁP ỨNG", "DIGITAL SOCIETY INDICATORS (PROVINCIAL DTI) THE TEAMS' DATA SUPPORTS")
	n = 0
	a := p.Area
	dti := func(labelVi, labelEn string, num, den float64, ref string) {
		n++
		note := l.pick("Lũy kế số người Tổ đã hỗ trợ, chia cho mẫu số của địa bàn; là phần đóng góp của Tổ, không phải tỷ lệ toàn dân",
			"Cumulated people the teams helped over the area's denominator: the teams' contribution, not the population rate")
		if v, ok := p.NationalRef[ref]; ok {
			note += l.pick(fmt.Sprintf(". Mục tiêu quốc gia: %s%%", l.num(v)), fmt.Sprintf(". National goal: %s%%", l.num(v)))
		}
		out = append(out, formLine{stt: fmt.Sprint(n), label: l.pick(labelVi, labelEn), unit: "%", cum: pct(num, den), note: note})
	}
	dti("Người trưởng thành được hỗ trợ mở tài khoản thanh toán / dân số trưởng thành", "Adults helped to open a payment account / adults",
		cm.Reached["payment_account"], float64(a.Adults), "payment_accounts")
	dti("Người trưởng thành được hỗ trợ nộp hồ sơ dịch vụ công trực tuyến / dân số trưởng thành", "Adults helped to submit online / adults",
		cm.Reached["public_service_submission"], float64(a.Adults), "online_public_services")
	dti("Người được hướng dẫn kỹ năng số cơ bản (dịch vụ công) / dân số trong độ tuổi lao động", "People trained in basic digital skills / working age",
		cm.Reached["skill_public_services"], float64(a.WorkingAge), "basic_skills_trained")
	dti("Người được kích hoạt VNeID mức 2 / dân số", "People with VNeID level 2 activated / population", cm.Reached["vneid_l2"], float64(a.Population), "")
	dti("Hộ gia đình có cáp quang (báo cáo của Tổ) / số hộ", "Households with fibre (teams' reports) / households", cm.Manual["households_fibre"],
		float64(a.Households), "households_fibre")
	return out
}

// idx is 0 for Vietnamese, 1 for English.
func (l Lang) idx() int {
	if l == EN {
		return 1
	}
	return 0
}

// num writes a number with at most two decimals.
func (l Lang) num(v float64) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	if l == VI {
		s = strings.ReplaceAll(s, ".", ",")
	}
	return s
}

// periodName is the period as a form says it: "Tháng 11 năm 2026",
// "Quý IV năm 2026", "Năm 2026".
func periodName(l Lang, kind, from string) string {
	year, month := from[:4], from[5:7]
	switch kind {
	case "month":
		return l.pick("Tháng "+strings.TrimPrefix(month, "0")+" năm "+year, "Month "+month+" of "+year)
	case "quarter":
		q := []string{"I", "II", "III", "IV"}[(atoi(month)-1)/3]
		return l.pick("Quý "+q+" năm "+year, "Quarter "+q+" of "+year)
	}
	return l.pick("Năm ", "Year ") + year
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// change is the change from last to cur in percent (one decimal), "mới"
// when last is zero and cur is not, nil when both are zero.
func change(l Lang, cur, last *float64) any {
	switch {
	case cur == nil || last == nil:
		return nil
	case *last == 0 && *cur == 0:
		return nil
	case *last == 0:
		return l.pick("mới", "new")
	}
	return math.Round((*cur-*last)*1000 / *last) / 10
}

// PeriodicFileName is the download name of a periodic form.
func PeriodicFileName(p *store.Periodic) string {
	return fmt.Sprintf("toso-bao-cao-%d-%s.xlsx", p.Area.ID, p.Period)
}

// WritePeriodicXLSX writes the periodic report form as a one-sheet
// workbook.
func WritePeriodicXLSX(w io.Writer, p *store.Periodic, l Lang) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := Sheet(l.pick("Biểu báo cáo", "Report form"))
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return err
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	fw := &formWriter{f: f, sheet: sheet, st: st}
	for col, width := range map[string]float64{"A": 6, "B": 58, "C": 13, "D": 12, "E": 12, "F": 14, "G": 14, "H": 46} {
		if err := f.SetColWidth(sheet, col, col, width); err != nil {
			return err
		}
	}
	upper := func(s string) string { return strings.ToUpper(s) }
	superior := ""
	if p.Parent != "" {
		superior = l.pick("UBND ", "PEOPLE'S COMMITTEE OF ") + upper(p.Parent)
	}
	fw.merged(1, "A", "C", superior, st.center)
	fw.merged(1, "E", "H", l.pick("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIETNAM"), st.center)
	fw.merged(2, "A", "C", l.pick("UBND ", "PEOPLE'S COMMITTEE OF ")+upper(p.Area.Name), st.center)
	fw.merged(2, "E", "H", l.pick("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"), st.center)
	fw.merged(3, "A", "C", l.pick("Số: ……/BC-UBND", "No. ……/BC-UBND"), st.italic)
	made := p.Made
	fw.merged(3, "E", "H", l.pick(fmt.Sprintf("%s, ngày %s tháng %s năm %s", p.Area.Name, made[8:], made[5:7], made[:4]),
		fmt.Sprintf("%s, %s", p.Area.Name, made)), st.italic)
	fw.merged(5, "A", "H", l.pick("BÁO CÁO", "REPORT"), st.title)
	fw.merged(6, "A", "H", l.pick("Kết quả hoạt động của Tổ công nghệ số cộng đồng", "Results of the community digital technology teams"), st.center)
	fw.merged(7, "A", "H", fmt.Sprintf("%s (%s%s%s%s)", periodName(l, p.Kind, p.From), l.pick("từ ngày ", "from "), l.date(p.From),
		l.pick(" đến ngày ", " to "), l.date(p.To)), st.italic)
	unit := p.Area.Name
	if p.Area.Code != "" {
		unit += l.pick(" (mã ", " (code ") + p.Area.Code + ")"
	}
	fw.merged(8, "A", "H", l.pick("Đơn vị báo cáo: ", "Reporting unit: ")+unit, 0)
	if p.Parent != "" {
		fw.merged(9, "A", "H", l.pick("Kính gửi: UBND ", "To: the People's Committee of ")+p.Parent, 0)
	}
	row := 11
	fw.row(row, st.header, l.pick("STT", "No."), l.pick("Chỉ tiêu", "Indicator"), l.pick("Đơn vị tính", "Unit"),
		l.pick("Kỳ này", "This period"), l.pick("Kỳ trước", "Last period")+" ("+periodName(l, p.Kind, p.Prev.From)+")",
		l.pick("So với kỳ trước (%)", "Change (%)"), l.pick("Lũy kế đến cuối kỳ", "Cumulated to the period's end"), l.pick("Ghi chú", "Notes"))
	for _, ln := range periodicLines(p, l) {
		row++
		if ln.section {
			fw.row(row, st.subtotal, ln.stt, ln.label)
			continue
		}
		fw.row(row, 0, ln.stt, ln.label, ln.unit, ptrVal(ln.cur), ptrVal(ln.last), change(l, ln.cur, ln.last), ptrVal(ln.cum), ln.note)
	}
	row += 2
	fw.row(row, st.subtotal, "VII", l.pick("MỤC TIÊU ĐƯỢC GIAO", "TARGETS SET FOR THE UNIT"))
	row++
	fw.row(row, st.header, l.pick("STT", "No."), l.pick("Mục tiêu", "Target"), l.pick("Kỳ mục tiêu", "Target period"),
		l.pick("Chỉ tiêu giao", "Goal"), l.pick("Đã đạt", "Reached"), l.pick("Tỷ lệ hoàn thành (%)", "Done (%)"),
		l.pick("Tình trạng", "Status"), l.pick("Ghi chú", "Notes"))
	labels := map[string]store.Label{}
	for _, x := range p.Indicators {
		labels[x.Code] = x
	}
	for i, t := range p.Targets {
		row++
		name := l.label(labels[t.Indicator])
		if t.Name != "" {
			name += " (" + t.Name + ")"
		}
		fw.row(row, 0, fmt.Sprint(i+1), name, l.date(t.StartsOn)+" – "+l.date(t.EndsOn), t.Goal, math.Round(t.Value*100)/100,
			ptrVal(pct(t.Value, t.Goal)), statusName(l, t.Status), l.pick("Tình trạng tính đến ngày lập biểu", "Status as of the day made"))
	}
	if len(p.Targets) == 0 {
		row++
		fw.row(row, 0, "", l.pick("(Chưa có mục tiêu được giao trong kỳ)", "(No target set for this period)"))
	}
	row += 2
	for _, note := range periodicNotes(l) {
		fw.merged(row, "A", "H", note, st.note)
		if err := f.SetRowHeight(sheet, row, 42); err != nil {
			return err
		}
		row++
	}
	row++
	fw.merged(row, "A", "C", l.pick("NGƯỜI LẬP BIỂU", "PREPARED BY"), st.center)
	fw.merged(row, "E", "H", l.pick("THỦ TRƯỞNG ĐƠN VỊ", "HEAD OF THE UNIT"), st.center)
	fw.merged(row+1, "A", "C", l.pick("(Ký, ghi rõ họ tên)", "(Signature and full name)"), st.italic)
	fw.merged(row+1, "E", "H", l.pick("(Ký tên, đóng dấu)", "(Signature and seal)"), st.italic)
	if fw.err != nil {
		return fw.err
	}
	return f.Write(w)
}

func ptrVal(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func statusName(l Lang, s string) string {
	switch s {
	case "on_track":
		return l.pick("Đúng tiến độ", "On track")
	case "at_risk":
		return l.pick("Có nguy cơ chậm", "At risk")
	case "behind":
		return l.pick("Chậm tiến độ", "Behind")
	}
	return s
}

// periodicNotes say what the figures are and which they are not.
func periodicNotes(l Lang) []string {
	return []string{
		l.pick("Ghi chú: số liệu tổng hợp từ nhật ký hỗ trợ và buổi tập huấn các Tổ ghi trên ứng dụng (Toso), cùng cách tính với báo cáo xuất "+
			"(số nguyên; đơn vị đã sáp nhập được chia theo tỷ lệ). Người dân tính một lần ở lần hỗ trợ đầu tiên; \"hỗ trợ thành công\" theo "+
			"từng dịch vụ cũng vậy; hồ sơ dịch vụ công tính theo lượt nộp. Nữ, dân tộc thiểu số, người cao tuổi là của người tham dự tập huấn.",
			"Notes: figures from the assistance logs and training sessions the teams record in the app (Toso), computed as in the export "+
				"(whole numbers; merged units split by share). A citizen counts once, at the first visit; so does each service's "+
				"\"helped (done)\"; public service submissions count each submission. Women, minority and elderly are training attendees."),
		l.pick("Chỉ số DTI (Quyết định 922/QĐ-BTTTT, trụ cột xã hội số) và mục tiêu Quyết định 411/QĐ-TTg: dữ liệu của Tổ chỉ cho phần "+
			"người dân Tổ đã hỗ trợ, không thay được tỷ lệ toàn dân. Không tính được từ dữ liệu này: tỷ lệ người trưởng thành có điện thoại "+
			"thông minh, tỷ lệ người dùng Internet, tỷ lệ người dân có tài khoản thanh toán hay danh tính số nói chung.",
			"DTI indicators (Decision 922/QĐ-BTTTT, digital society pillar) and Decision 411/QĐ-TTg goals: the teams' data gives the "+
				"people the teams helped, not population-wide rates. Not computable from it: adults with a smartphone, Internet users, "+
				"people with a payment account or a digital identity overall."),
		l.pick("Số tổ, thành viên và tỷ lệ thành viên/100 dân là số hiện có tại ngày lập biểu (không có số của kỳ trước). "+
			"Bình dân học vụ số: số hoàn thành theo ngày hoàn thành và xã ghi trên nền tảng; \"của người được Tổ hỗ trợ\" là người có nhật ký "+
			"hỗ trợ (cùng mã định danh đã mã hóa).",
			"Teams, members and members per 100 residents are as of the day made (there is no figure for the last period). "+
				"Bình dân học vụ số: completions by the completion day and commune the platform records; \"by citizens the teams helped\" "+
				"are people with an assistance log (same hashed ID)."),
	}
}

// formWriter sets cells on a sheet, every text through SafeText; the first
// error sticks.
type formWriter struct {
	f     *excelize.File
	sheet string
	st    *styles
	err   error
}

func (w *formWriter) set(cellName string, v any, style int) {
	if w.err != nil || v == nil {
		return
	}
	if w.err = w.f.SetCellValue(w.sheet, cellName, cell(v)); w.err == nil && style != 0 {
		w.err = w.f.SetCellStyle(w.sheet, cellName, cellName, style)
	}
}

// row sets the cells of a row from column A on.
func (w *formWriter) row(r, style int, values ...any) {
	for i, v := range values {
		name, err := excelize.CoordinatesToCellName(i+1, r)
		if err != nil {
			w.err = err
			return
		}
		w.set(name, v, style)
		if v == nil && style != 0 && w.err == nil {
			w.err = w.f.SetCellStyle(w.sheet, name, name, style)
		}
	}
}

// merged writes text into columns from..to of row r, merged.
func (w *formWriter) merged(r int, from, to string, text string, style int) {
	if text == "" {
		return
	}
	a, b := fmt.Sprintf("%s%d", from, r), fmt.Sprintf("%s%d", to, r)
	w.set(a, text, style)
	if w.err == nil {
		w.err = w.f.MergeCell(w.sheet, a, b)
	}
}
