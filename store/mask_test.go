package store

import "testing"

func TestMaskNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Chị Lan, CCCD 038090001234, đã kích hoạt", "Chị Lan, CCCD ***, đã kích hoạt"},
		{"CMND 123456789", "CMND ***"},
		{"gọi 0912345678 hoặc +84 912 345 678", "gọi *** hoặc ***"},
		{"số 0912.345.678 và 0912-345-678", "số *** và ***"},
		{"thẻ 038 090 001 234 nhé", "thẻ *** nhé"},
		{"họp lúc 12-11-2026 10:30, 25 người", "họp lúc 12-11-2026 10:30, 25 người"},
		{"12345678 là 8 chữ số", "12345678 là 8 chữ số"},
		{"Nhà văn hóa 7", "Nhà văn hóa 7"},
		{"", ""},
		{"0912345678", "***"},
	}
	for _, tt := range tests {
		if got := MaskNumbers(tt.in); got != tt.want {
			t.Errorf("MaskNumbers(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
