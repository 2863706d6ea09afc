package mobileapi

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Reason is a stable reason code with its sentence in both languages.
type Reason struct{ Code, EN, VI string }

// fieldReasons gives each reason the store's mutation parsers and this
// package's handlers attach to a field (in English, the store's one
// language) a stable code for apps and a sentence for people. A push
// result and an error's "fields" carry the sentence in the caller's
// language, and "reasons" the code. TestEveryFieldReasonIsTranslated walks
// the source so no reason is left out.
var fieldReasons = map[string]Reason{
	"required": {"required", "This field is required.", "Trường này là bắt buộc."},
	"is newer than the row's version": {"base_version_ahead", "The base version is newer than the row's: the app cannot have seen it. Pull, then make the change again.",
		"Phiên bản gốc mới hơn phiên bản của dòng dữ liệu: ứng dụng chưa thể thấy nó. Hãy đồng bộ về rồi sửa lại."},
	"cannot be cleared":        {"required", "This field cannot be cleared.", "Không được xóa trống trường này."},
	"too long":                 {"too_long", "The text is too long.", "Nội dung quá dài."},
	"too many":                 {"too_many", "The list has too many items.", "Danh sách có quá nhiều mục."},
	"out of range":             {"out_of_range", "The value is out of the allowed range.", "Giá trị nằm ngoài khoảng cho phép."},
	"must not be negative":     {"out_of_range", "The value must not be negative.", "Giá trị không được là số âm."},
	"must be a string":         {"wrong_type", "The value must be text.", "Giá trị phải là chuỗi ký tự."},
	"must be true or false":    {"wrong_type", "The value must be true or false.", "Giá trị phải là true hoặc false."},
	"must be a whole number":   {"wrong_type", "The value must be a whole number.", "Giá trị phải là số nguyên."},
	"must be a number":         {"wrong_type", "The value must be a number.", "Giá trị phải là một số."},
	"must be a list of codes":  {"wrong_type", "The value must be a list of codes.", "Giá trị phải là danh sách mã."},
	"must be an RFC 3339 time": {"bad_time", "The time must be in RFC 3339 form, e.g. 2026-11-20T09:12:00Z.", "Thời gian phải theo định dạng RFC 3339, ví dụ 2026-11-20T09:12:00Z."},
	"must not be in the future": {"in_future", "The time must not be in the future (the phone's clock may be wrong).",
		"Thời gian không được ở tương lai (đồng hồ của điện thoại có thể bị sai)."},
	"must be a date (YYYY-MM-DD), not in the future": {"bad_date", "The date must be YYYY-MM-DD and not in the future.",
		"Ngày phải theo định dạng YYYY-MM-DD và không ở tương lai."},
	"must be a UUID":                           {"bad_id", "The id must be a UUID.", "Mã định danh phải là UUID."},
	"must be the row id the pull sent":         {"bad_id", "The id must be the one the pull sent for this row.", "Mã định danh phải đúng mã mà lần đồng bộ đã gửi cho dòng này."},
	"must be create, patch or delete":          {"bad_op", "The operation must be create, patch or delete.", "Thao tác phải là create, patch hoặc delete."},
	"unknown table":                            {"unknown_table", "The app does not sync a table of this name.", "Không có bảng đồng bộ nào có tên này."},
	"unknown field":                            {"unknown_field", "This table has no such field.", "Bảng này không có trường này."},
	"must be one of ":                          {"not_allowed", "The value must be one of: %s.", "Giá trị phải là một trong: %s."},
	"unknown indicator code":                   {"unknown_code", "The indicator code is not in the catalog.", "Mã chỉ tiêu không có trong danh mục."},
	"unknown or repeated code":                 {"unknown_code", "A code is not in the catalog or is listed twice.", "Có mã không thuộc danh mục hoặc bị lặp lại."},
	"must be a list of at most 10 names":       {"too_many", "The value must be a list of at most 10 names.", "Giá trị phải là danh sách tối đa 10 tên."},
	"each name must have 1 to 100 characters":  {"too_long", "Each name must have 1 to 100 characters.", "Mỗi tên phải có từ 1 đến 100 ký tự."},
	"must be 12 digits":                        {"bad_citizen_id", "The ID card number must have 12 digits.", "Số căn cước phải có 12 chữ số."},
	"must be a string of 12 digits":            {"bad_citizen_id", "The ID card number must be text of 12 digits.", "Số căn cước phải là chuỗi 12 chữ số."},
	"must be a phone number":                   {"bad_phone", "The value must be a phone number.", "Giá trị phải là số điện thoại."},
	"must be a Vietnamese mobile number":       {"bad_phone", "The phone number must be a Vietnamese mobile number (10 digits starting with 0).", "Số điện thoại phải là số di động Việt Nam (10 chữ số, bắt đầu bằng 0)."},
	"phone":                                    {"bad_phone", "The phone number must be a Vietnamese mobile number (10 digits starting with 0).", "Số điện thoại phải là số di động Việt Nam (10 chữ số, bắt đầu bằng 0)."},
	"a name or a citizen number is required":   {"required", "A name or a citizen number is required.", "Cần có họ tên hoặc số giấy tờ của người dân."},
	"must be an area of the team":              {"not_in_team", "The village must be an area of the team.", "Thôn phải thuộc địa bàn của tổ."},
	"not your team":                            {"not_in_team", "This belongs to another team.", "Dữ liệu này thuộc tổ khác."},
	"a log cannot change team":                 {"team_fixed", "A log cannot move to another team.", "Không thể chuyển lượt hỗ trợ sang tổ khác."},
	"a session cannot change team":             {"team_fixed", "A session cannot move to another team.", "Không thể chuyển buổi tập huấn sang tổ khác."},
	"belongs to another author":                {"not_author", "Only its author may change this.", "Chỉ người tạo mới được sửa mục này."},
	"a delete takes no fields":                 {"no_fields", "A delete carries no fields.", "Thao tác xóa không kèm trường dữ liệu nào."},
	"no such session":                          {"no_session", "There is no such training session.", "Không có buổi tập huấn này."},
	"the session was deleted":                  {"no_session", "The training session was deleted.", "Buổi tập huấn đã bị xóa."},
	"no such report in this team":              {"no_report", "This team has no such progress report.", "Tổ không có báo cáo tiến độ này."},
	"a new report is not void":                 {"not_allowed", "A new progress report cannot be void.", "Báo cáo tiến độ mới không thể ở trạng thái hủy."},
	"only a coordinator locks a session":       {"coordinator_only", "Only a coordinator locks a session.", "Chỉ điều phối viên mới được khóa buổi tập huấn."},
	"a receipt patch sets read_at or acked_at": {"no_fields", "A receipt patch sets read_at or acked_at.", "Cập nhật thông báo phải có read_at hoặc acked_at."},
	"receipts are created by the server; mark one read or acknowledged with a patch": {"server_owned",
		"Receipts are created by the server: mark one read or acknowledged with a patch.",
		"Thông báo nhận do máy chủ tạo: hãy đánh dấu đã đọc hoặc đã xác nhận bằng một bản cập nhật (patch)."},
	"conflicts are created by the server; resolve one with a patch": {"server_owned",
		"Conflicts are created by the server: resolve one with a patch.",
		"Xung đột do máy chủ tạo: hãy giải quyết bằng một bản cập nhật (patch)."},
	"progress reports are append-only: correct with a new entry": {"append_only",
		"Progress reports cannot be changed: correct one with a new entry.",
		"Báo cáo tiến độ không sửa được: hãy điều chỉnh bằng một báo cáo mới."},
	"progress reports are append-only: a coordinator may void one": {"append_only",
		"Progress reports cannot be deleted: a coordinator may void one.",
		"Báo cáo tiến độ không xóa được: điều phối viên có thể hủy báo cáo."},
	"each cursor must be a non-negative integer": {"bad_cursor", "Each cursor must be one the server sent (a non-negative number).",
		"Mỗi con trỏ phải là giá trị máy chủ đã gửi (một số không âm)."},
	"malformed":                    {"malformed", "The value is malformed.", "Giá trị không đúng định dạng."},
	"not the device of this token": {"wrong_device", "This is not the device the token was issued to.", "Đây không phải thiết bị được cấp mã truy cập này."},
	"mids must be consecutive and a tx group's mutations adjacent": {"bad_mids",
		"Mids must be consecutive and the mutations of a tx group adjacent.",
		"Các mid phải liên tiếp và các thao tác cùng một tx phải đứng liền nhau."},
}

// lookupReason finds the entry of a reason text; "must be one of a, b" is
// the entry "must be one of " with the list as its value.
func lookupReason(text string) (Reason, bool) {
	if r, ok := fieldReasons[text]; ok {
		return r, true
	}
	const oneOf = "must be one of "
	if rest, ok := strings.CutPrefix(text, oneOf); ok {
		r := fieldReasons[oneOf]
		r.EN, r.VI = fmt.Sprintf(r.EN, rest), fmt.Sprintf(r.VI, rest)
		return r, true
	}
	return Reason{}, false
}

// LocalizeFields turns field reasons into sentences in lang ("vi" or "en")
// and returns the stable reason codes beside them. A reason without an
// entry (the validator's, already translated) is kept as it is.
func LocalizeFields(fields map[string]string, lang string) (sentences, codes map[string]string) {
	if len(fields) == 0 {
		return fields, nil
	}
	sentences = make(map[string]string, len(fields))
	for name, text := range fields {
		r, ok := lookupReason(text)
		if !ok {
			sentences[name] = text
			continue
		}
		if codes == nil {
			codes = map[string]string{}
		}
		codes[name] = r.Code
		sentences[name] = r.VI
		if lang == "en" {
			sentences[name] = r.EN
		}
	}
	return sentences, codes
}

// storeDetails translates the store's explanations of a 409 or 422 (its
// fmt.Errorf formats wrapping ErrInvalid or ErrConflict), values kept in
// order. TestEveryStoreDetailIsTranslated walks the store so none is missed.
var storeDetails = map[string]Message{
	"an area code must be 1 to 20 digits": {"An area code is 1 to 20 digits.", "Mã địa bàn gồm 1 đến 20 chữ số."},
	"app_version_below must be a dotted version such as 1.4.0": {"app_version_below must be a version such as 1.4.0.",
		"app_version_below phải là số phiên bản, ví dụ 1.4.0."},
	"area_id is required": {"area_id is required.", "Cần chọn địa bàn (area_id)."},
	"area_id is required: the audience spans several provinces": {"area_id is required: the audience spans several provinces.",
		"Cần chọn địa bàn (area_id): đối tượng nhận thuộc nhiều tỉnh."},
	"day must be a date (YYYY-MM-DD)":                   {"The day must be a date (YYYY-MM-DD).", "Ngày phải theo định dạng YYYY-MM-DD."},
	"period must be YYYY, YYYY-Qn or YYYY-MM":           {"The period must be a year (2026), a quarter (2026-Q4) or a month (2026-11).", "Kỳ báo cáo phải là năm (2026), quý (2026-Q4) hoặc tháng (2026-11)."},
	"status must be open, resolved or all":              {"The status must be open, resolved or all.", "Trạng thái phải là open, resolved hoặc all."},
	"the announcement does not ask for acknowledgement": {"The announcement does not ask for acknowledgement.", "Thông báo này không yêu cầu xác nhận đã đọc."},
	"a %s cannot be under a %s":                         {"A %s cannot be under a %s.", "Cấp %s không thể nằm dưới cấp %s."},
	"a %s needs a team and no area":                     {"A %s needs a team and no area.", "Vai trò %s cần thuộc một tổ và không gắn địa bàn."},
	"a %s session cannot be locked":                     {"A %s session cannot be locked.", "Không thể khóa buổi tập huấn ở trạng thái %s."},
	"a %s with code %s already exists":                  {"A %s with code %s already exists.", "Đã có đơn vị cấp %s với mã %s."},
	"a campaign needs a name":                           {"A campaign needs a name.", "Chiến dịch cần có tên."},
	"a coordinator needs an area and no team":           {"A coordinator needs an area and no team.", "Điều phối viên cần gắn một địa bàn và không thuộc tổ nào."},
	"a period spans at most 20 years":                   {"A period spans at most 20 years.", "Khoảng thời gian tối đa là 20 năm."},
	"a root area must be a province, not %s":            {"A top-level area must be a province, not a %s.", "Địa bàn cấp cao nhất phải là tỉnh, không phải %s."},
	"an admin has no team or area":                      {"An admin has no team or area.", "Quản trị viên không thuộc tổ hay địa bàn nào."},
	"an audience needs at least one area":               {"An audience needs at least one area.", "Đối tượng nhận cần có ít nhất một địa bàn."},
	"announcement %d expired at %s":                     {"Announcement %s expired at %s.", "Thông báo %s đã hết hạn lúc %s."},
	"announcement %d is %s":                             {"Announcement %s is %s.", "Thông báo %s đang ở trạng thái %s."},
	"area %d has no child areas to allocate to":         {"Area %s has no areas below it to allocate to.", "Địa bàn %s không có địa bàn trực thuộc để phân bổ."},
	"area level %q":                                     {"Unknown area level %s.", "Cấp địa bàn %s không hợp lệ."},
	"at most %d mutations per push":                     {"At most %s mutations per push.", "Mỗi lần gửi tối đa %s thao tác."},
	"audience role %q":                                  {"Unknown audience role %s.", "Vai trò nhận %s không hợp lệ."},
	"create user: no password hash":                     {"The user has no password.", "Người dùng chưa có mật khẩu."},
	"cursor of %s":                                      {"The cursor of %s is not one the server sent.", "Con trỏ của %s không phải giá trị máy chủ đã gửi."},
	"device is bound to another user":                   {"This device is registered to another account.", "Thiết bị này đã được đăng ký cho tài khoản khác."},
	"expires_at %s is in the past":                      {"The expiry time %s is in the past.", "Thời điểm hết hạn %s đã qua."},
	"expires_at %s is more than a year away":            {"The expiry time %s is more than a year away.", "Thời điểm hết hạn %s xa hơn một năm."},
	"from and to go together":                           {"Give both from and to, or neither.", "Cần có cả ngày bắt đầu và ngày kết thúc, hoặc bỏ cả hai."},
	"from must be a date (YYYY-MM-DD)":                  {"From must be a date (YYYY-MM-DD).", "Ngày bắt đầu phải theo định dạng YYYY-MM-DD."},
	"generate: the database must be empty (areas: %d, %v)": {"The database must be empty to generate (areas: %s, %s).",
		"Cơ sở dữ liệu phải trống để sinh dữ liệu (địa bàn: %s, %s)."},
	"goal must be positive":                    {"The goal must be positive.", "Mục tiêu phải lớn hơn 0."},
	"indicator %q":                             {"Unknown indicator %s.", "Chỉ tiêu %s không có trong danh mục."},
	"integrity: %s":                            {"The database is damaged: %s.", "Cơ sở dữ liệu bị hỏng: %s."},
	"method must be proportional or equal":     {"The method must be proportional or equal.", "Cách phân bổ phải là proportional (theo dân số) hoặc equal (chia đều)."},
	"mids must be positive and consecutive":    {"Mids must be positive and consecutive.", "Các mid phải là số dương liên tiếp."},
	"period must be year, quarter or campaign": {"The period must be year, quarter or campaign.", "Kỳ phải là year (năm), quarter (quý) hoặc campaign (chiến dịch)."},
	"phone %s is already registered":           {"The phone number %s is already registered.", "Số điện thoại %s đã được đăng ký."},
	"phone number must have 10 digits starting with 0 (or +84)": {"The phone number must have 10 digits starting with 0 (or +84).",
		"Số điện thoại phải có 10 chữ số, bắt đầu bằng 0 (hoặc +84)."},
	"phone number: unexpected %q": {"The phone number has an unexpected %s.", "Số điện thoại có ký tự không hợp lệ %s."},
	"publish_at %s is not before expires_at %s": {"The publication time %s is not before the expiry time %s.",
		"Thời điểm đăng %s không trước thời điểm hết hạn %s."},
	"resolution is too long": {"The resolution is too long.", "Nội dung giải quyết quá dài."},
	"review %s":              {"Cannot review %s.", "Không thể duyệt %s."},
	"role %q":                {"Unknown role %s.", "Vai trò %s không hợp lệ."},
	"team %d is inactive":    {"Team %s is inactive.", "Tổ %s đã ngừng hoạt động."},
	"the child areas have no %s figures: allocate equally": {"The areas below have no %s figures: allocate equally.",
		"Các địa bàn trực thuộc chưa có số liệu %s: hãy chia đều."},
	"text must be UTF-8 without NUL bytes":    {"Text must be UTF-8 without NUL bytes.", "Văn bản phải là UTF-8 và không chứa ký tự NUL."},
	"the mutations of tx %q must be adjacent": {"The mutations of tx %s must be adjacent.", "Các thao tác của tx %s phải đứng liền nhau."},
	"to must be a date (YYYY-MM-DD)":          {"To must be a date (YYYY-MM-DD).", "Ngày kết thúc phải theo định dạng YYYY-MM-DD."},
	"to must not be before from":              {"To must not be before from.", "Ngày kết thúc không được trước ngày bắt đầu."},
	"weeks must be 1 to %d":                   {"Weeks must be 1 to %s.", "Số tuần phải từ 1 đến %s."},
	"year and quarter (1-4) are required":     {"A year and a quarter (1–4) are required.", "Cần có năm và quý (1–4)."},
	"year must be between 2000 and 2100":      {"The year must be between 2000 and 2100.", "Năm phải từ 2000 đến 2100."},
}

var verbRE = regexp.MustCompile(`%[sdqv]`)

type detailPattern struct {
	re  *regexp.Regexp
	msg Message
}

// detailPatterns compiles storeDetails once: each format becomes a regular
// expression matching the end of an error text (a caller may have added a
// prefix such as "create user: ").
var detailPatterns = sync.OnceValue(func() []detailPattern {
	ps := make([]detailPattern, 0, len(storeDetails))
	for format, msg := range storeDetails {
		parts := verbRE.Split(format, -1)
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		ps = append(ps, detailPattern{re: regexp.MustCompile(`(?:^|: )` + strings.Join(parts, `(.*?)`) + `$`), msg: msg})
	}
	return ps
})

// LocalizeDetail is the store's explanation text in lang, or "" when it is
// not one of the store's known formats.
func LocalizeDetail(text, lang string) string {
	for _, p := range detailPatterns() {
		m := p.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		args := make([]any, len(m)-1)
		for i := range args {
			args[i] = m[i+1]
		}
		tmpl := p.msg.VI
		if lang == "en" {
			tmpl = p.msg.EN
		}
		return fmt.Sprintf(tmpl, args...)
	}
	return ""
}

// Text is the catalog message of code in lang, or "" when there is none.
func Text(code, lang string) string {
	m := Messages[code]
	if lang == "en" {
		return m.EN
	}
	return m.VI
}
