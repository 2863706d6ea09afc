package forms

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"

	"github.com/xuri/excelize/v2"

	"toso/store"
)

// The upward report as a file: a title block (unit, period, day made,
// how to read it), one header row, then the store's rows as UpwardRows
// streams them: per commune its villages (and the parts of former units
// merged into it) then the commune's subtotal, the total last. A column
// "row" tells details, commune subtotals, district subtotals and the total
// apart, so a SUMIF over one kind gives the total. Labels come from the
// catalog in the request's language. The JSON API's exports and the
// dashboard's downloads both write these.

// upward lays the report out.
type upward struct {
	u    *store.Upward
	lang Lang
}

// FileName is the download name of the report as a file with extension ext.
func FileName(u *store.Upward, ext string) string {
	return fmt.Sprintf("toso-%d-%s-%s.%s", u.Area.ID, u.From, u.To, ext)
}

// title is the block above the header: one text cell per row.
func (x upward) title() []string {
	l, u := x.lang, x.u
	unit := u.Area.Name
	if u.Area.Code != "" {
		unit += l.pick(" (mã ", " (code ") + u.Area.Code + ")"
	}
	return []string{
		l.pick("BÁO CÁO KẾT QUẢ HOẠT ĐỘNG CỦA TỔ CÔNG NGHỆ SỐ CỘNG ĐỒNG", "COMMUNITY DIGITAL TECHNOLOGY TEAMS: ACTIVITY REPORT"),
		l.pick("Đơn vị báo cáo: ", "Reporting unit: ") + unit,
		l.pick("Kỳ báo cáo: từ ngày ", "Period: from ") + l.date(u.From) + l.pick(" đến ngày ", " to ") + l.date(u.To),
		l.pick("Ngày lập: ", "Made on: ") + l.date(u.Made),
		l.pick("Cách cộng: cột \"Loại dòng\" phân biệt dòng chi tiết, dòng cộng cấp xã, dòng cộng cấp huyện và dòng tổng cộng. "+
			"Cộng một cột theo các dòng chi tiết, hoặc theo các dòng cộng cấp xã, đều được đúng dòng tổng cộng. "+
			"Không cộng cột \"Thành viên/100 dân\" (là tỷ lệ).",
			"How to add up: the \"Row\" column tells detail rows, commune subtotals, district subtotals and the total apart. "+
				"A column summed over the detail rows, or over the commune subtotals, gives the total. "+
				"Do not add up \"Members per 100 residents\" (a ratio)."),
		l.pick("Đơn vị đã sáp nhập: số liệu của xã/thôn cũ được chia cho đơn vị mới theo tỷ lệ sáp nhập; mỗi số được làm tròn thành "+
			"số nguyên sao cho các phần cộng lại đúng bằng số của đơn vị cũ (phần dư lớn nhất). Tỷ lệ chỉ dùng để chia, không làm số lẻ. "+
			"Số tổ và thành viên của đơn vị cũ tính một lần, ở phần lớn nhất; dân số tính theo đơn vị đang có hiệu lực.",
			"Merged units: the figures of a former commune or village are split among the new units by the merger share; each count "+
				"is rounded to a whole number so that the parts add up exactly to the former unit's (largest remainder). The share only "+
				"splits; no count is fractional. A former unit's teams and members count once, with its largest part; population is "+
				"that of the units in force."),
		l.pick("Người dân được hỗ trợ: mỗi người (theo mã định danh đã mã hóa) chỉ tính một lần, ở lần hỗ trợ đầu tiên; cột theo "+
			"dịch vụ cũng vậy. Dòng \"trực tiếp\" là hoạt động ghi tại chính đơn vị đó (không thuộc thôn/xã nào bên dưới) và phần dân số "+
			"chưa phân về đơn vị cấp dưới.",
			"Citizens helped: each person (by their hashed ID number) counts once, at their first visit; so do the per-service "+
				"columns. A \"direct\" row is the work recorded on the unit itself (in no village or commune below it) and its "+
				"population not assigned to the units below."),
	}
}

// header is the header row.
func (x upward) header() []any {
	l := x.lang
	h := []any{l.pick("Loại dòng", "Row"), l.pick("Xã/phường", "Commune"), l.pick("Đơn vị", "Unit"), l.pick("Cấp", "Level"),
		l.pick("Mã", "Code"), l.pick("Tỷ lệ sáp nhập (%)", "Merger share (%)"), l.pick("Số tổ", "Teams"),
		l.pick("Số thành viên", "Members"), l.pick("Dân số", "Population"), l.pick("Thành viên/100 dân", "Members per 100 residents"),
		l.pick("Người dân được hỗ trợ (lần đầu)", "Citizens helped (first time)"), l.pick("Lượt hỗ trợ", "Visits")}
	for _, s := range x.u.Services {
		h = append(h, l.pick("Hỗ trợ thành công: ", "Helped (done): ")+l.label(s))
	}
	h = append(h, l.pick("Buổi tập huấn", "Training sessions"), l.pick("Người tham dự", "Attendees"), l.pick("Nữ", "Women"),
		l.pick("Dân tộc thiểu số", "Ethnic minority"), l.pick("Người cao tuổi", "Elderly"))
	for _, b := range x.u.Barriers {
		h = append(h, l.pick("Rào cản: ", "Barrier: ")+l.label(b))
	}
	return h
}

// kind is the "row" column: what the row is.
func (x upward) kind(r store.UpwardRow) string {
	l := x.lang
	switch {
	case r.Kind == store.UpwardTotal:
		return l.pick("Tổng cộng", "Total")
	case r.Kind == store.UpwardSubtotal && r.Level == "commune":
		return l.pick("Cộng cấp xã", "Commune subtotal")
	case r.Kind == store.UpwardSubtotal:
		return l.pick("Cộng cấp ", "Subtotal, ") + lower(l.level(r.Level))
	}
	return l.pick("Chi tiết", "Detail")
}

// unit is the "unit" column: the row's area, and for former units what
// became of them.
func (x upward) unit(r store.UpwardRow) string {
	l := x.lang
	former := ""
	if r.Former != "" {
		former = l.pick(" (cũ, đến ", " (former, until ") + l.date(r.Former) + ")"
	}
	switch {
	case r.Kind == store.UpwardTotal:
		return l.pick("Tổng cộng ", "Total ") + r.Name
	case r.Kind == store.UpwardSubtotal && r.Part == store.UpwardDirect:
		return l.pick("Cộng trực tiếp tại ", "Subtotal, direct at ") + r.Name
	case r.Kind == store.UpwardSubtotal && r.Part == store.UpwardRest:
		return l.pick("Cộng ", "Subtotal ") + r.Name + l.pick(" (cũ)", " (former)")
	case r.Kind == store.UpwardSubtotal:
		return l.pick("Cộng ", "Subtotal ") + r.Name
	case r.Part == store.UpwardDirect:
		return r.Name + l.pick(": trực tiếp (không thuộc đơn vị cấp dưới)", ": direct (in no unit below)")
	case r.Part == store.UpwardMerged:
		return r.Name + former + l.pick(": phần sáp nhập vào ", ": part merged into ") + r.Into
	case r.Part == store.UpwardRest:
		return r.Name + former + l.pick(": phần không sáp nhập vào đơn vị nào trong báo cáo", ": part merged into no unit of this report")
	}
	return r.Name + former
}

// cells lays one row out in the header's columns, into row (reused).
func (x upward) cells(r store.UpwardRow, row []any) []any {
	var share any
	if r.Part == store.UpwardMerged {
		share = math.Round(r.Share*1000) / 10
	}
	f := r.Figures
	row = append(row[:0], x.kind(r), r.Group, x.unit(r), x.lang.level(r.Level), r.Code, share, r.Teams, r.Members,
		r.Population, math.Round(r.MembersPer100*100)/100, f.Citizens, f.Logs)
	for _, s := range x.u.Services {
		row = append(row, f.Reached[s.Code])
	}
	row = append(row, f.Sessions, f.Attendees, f.Women, f.Minority, f.Elderly)
	for _, b := range x.u.Barriers {
		row = append(row, f.Barriers[b.Code])
	}
	return row
}

// WriteUpwardCSV writes the upward report as CSV, UTF-8 with a byte-order
// mark so spreadsheet programs read Vietnamese: the title block (one text a
// line), an empty line, the header and the rows.
func WriteUpwardCSV(ctx context.Context, w io.Writer, st *store.Store, u *store.Upward, lang Lang) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	x := upward{u, lang}
	cw := csv.NewWriter(w)
	var rec []string
	write := func(row []any) error {
		rec = rec[:0]
		for _, v := range row {
			rec = append(rec, csvCell(v))
		}
		return cw.Write(rec)
	}
	// Every line has the header's width, so the file is one rectangle
	// for any CSV reader.
	header := x.header()
	pad := make([]any, len(header))
	for _, t := range append(x.title(), "") {
		pad[0] = t
		if err := write(pad); err != nil {
			return err
		}
	}
	if err := write(header); err != nil {
		return err
	}
	var row []any
	err := st.UpwardRows(ctx, u, func(r store.UpwardRow) error {
		row = x.cells(r, row)
		return write(row)
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

// WriteUpwardXLSX writes the upward report as a workbook of two named
// sheets: every row ("Báo cáo"), and the commune subtotals with the total
// ("Tổng hợp cấp xã"). Rows go from the store's cursor into excelize's
// StreamWriters (which spill to a temporary file past 16 MiB, not a DOM),
// and the workbook is zipped straight into w.
func WriteUpwardXLSX(ctx context.Context, w io.Writer, st *store.Store, u *store.Upward, lang Lang) error {
	x := upward{u, lang}
	f := excelize.NewFile()
	defer f.Close()
	st1 := Sheet(lang.pick("Báo cáo", "Report"))
	st2 := Sheet(lang.pick("Tổng hợp cấp xã", "Commune summary"))
	if err := f.SetSheetName("Sheet1", st1); err != nil {
		return err
	}
	if _, err := f.NewSheet(st2); err != nil {
		return err
	}
	styles, err := newStyles(f)
	if err != nil {
		return err
	}
	header := x.header()
	var sheets [2]*sheetWriter
	for i, name := range []string{st1, st2} {
		sw, err := newSheetWriter(f, name, styles, len(header))
		if err != nil {
			return err
		}
		sheets[i] = sw
		if err := sw.titleBlock(x.title(), len(header)); err != nil {
			return err
		}
		if err := sw.row(header, styles.header); err != nil {
			return err
		}
	}
	var row []any
	err = st.UpwardRows(ctx, u, func(r store.UpwardRow) error {
		row = x.cells(r, row)
		style := 0
		switch {
		case r.Kind == store.UpwardTotal:
			style = styles.total
		case r.Kind == store.UpwardSubtotal:
			style = styles.subtotal
		}
		if err := sheets[0].row(row, style); err != nil {
			return err
		}
		if r.Kind == store.UpwardTotal || r.Kind == store.UpwardSubtotal && r.Level == "commune" {
			return sheets[1].row(row, style)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, sw := range sheets {
		if err := sw.sw.Flush(); err != nil {
			return err
		}
	}
	return f.Write(w)
}

func lower(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	if r[0] >= 'A' && r[0] <= 'Z' {
		r[0] += 'a' - 'A'
	}
	return string(r)
}
