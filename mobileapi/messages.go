package mobileapi

// Message is one error message in both languages.
type Message struct{ EN, VI string }

// Messages is the catalog of error codes: every code the API answers with
// has a line here, in English and Vietnamese.
var Messages = map[string]Message{
	"bad_request":            {"The request is malformed.", "Yêu cầu không đúng định dạng."},
	"validation_failed":      {"Some fields are invalid.", "Một số trường không hợp lệ."},
	"unauthenticated":        {"Sign in again: the credentials or token are invalid or expired.", "Vui lòng đăng nhập lại: thông tin đăng nhập hoặc mã truy cập không hợp lệ hoặc đã hết hạn."},
	"invalid_credentials":    {"Wrong phone number or password.", "Sai số điện thoại hoặc mật khẩu."},
	"forbidden":              {"You are not allowed to do this.", "Bạn không có quyền thực hiện thao tác này."},
	"not_found":              {"Not found.", "Không tìm thấy."},
	"conflict":               {"This conflicts with existing data.", "Dữ liệu bị trùng hoặc xung đột với dữ liệu đã có."},
	"device_bound":           {"This device is registered to another account.", "Thiết bị này đã được đăng ký cho tài khoản khác."},
	"token_reused":           {"This sign-in was used twice; all its sessions were ended. Sign in again.", "Phiên đăng nhập bị dùng lại; mọi phiên liên quan đã bị hủy. Vui lòng đăng nhập lại."},
	"rate_limited":           {"Too many attempts. Try again later.", "Quá nhiều lần thử. Vui lòng thử lại sau."},
	"too_large":              {"The request is too large.", "Yêu cầu quá lớn."},
	"method_not_allowed":     {"Method not allowed.", "Phương thức không được hỗ trợ."},
	"unsupported_media_type": {"Unsupported content type.", "Kiểu nội dung không được hỗ trợ."},
	"request_timeout":        {"The request took too long.", "Yêu cầu mất quá nhiều thời gian."},
	"unavailable":            {"The server is busy or shutting down. Try again shortly.", "Máy chủ đang bận hoặc đang tắt. Vui lòng thử lại sau ít phút."},
	"internal":               {"Internal error.", "Lỗi hệ thống."},
	"import_failed":          {"The file has errors; nothing was imported.", "Tệp có lỗi; chưa có dữ liệu nào được nhập."},
	"mid_gap":                {"Mutations are missing before this batch.", "Thiếu các thao tác trước lô này."},
	"unsupported_schema":     {"This app version is not supported. Update the app.", "Phiên bản ứng dụng không được hỗ trợ. Vui lòng cập nhật ứng dụng."},
	"goals_changed":          {"Some goals below were changed by hand; nothing was allocated. Allocate again with \"replace\": true to overwrite them.", "Một số mục tiêu của địa bàn trực thuộc đã được sửa tay; chưa phân bổ gì. Phân bổ lại với \"replace\": true để ghi đè."},
	"ack_not_required":       {"This announcement does not ask for acknowledgement.", "Thông báo này không yêu cầu xác nhận đã đọc."},

	// The codes of rejected push results (store/sync.go), with mid_reused
	// (a mid sent again with other content).
	"deleted":      {"The row was deleted: the change was not applied.", "Dòng dữ liệu đã bị xóa: thay đổi không được áp dụng."},
	"locked":       {"The row is locked after review: only a coordinator can change it.", "Dòng dữ liệu đã bị khóa sau khi duyệt: chỉ điều phối viên mới sửa được."},
	"read_only":    {"The app cannot change this table.", "Ứng dụng không được sửa bảng này."},
	"group_failed": {"Another change of the same group was rejected, so none was applied.", "Một thay đổi khác cùng nhóm bị từ chối nên cả nhóm không được áp dụng."},
	"mid_reused":   {"This mid was already used for another change.", "Mã thao tác (mid) này đã được dùng cho một thay đổi khác."},
}
