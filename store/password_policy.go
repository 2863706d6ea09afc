package store

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
)

// Password rules, after NIST SP 800-63B (5.1.1.2): a minimum length, no
// composition rules, and a check against passwords known to be common,
// repetitive or sequential, or derived from the account itself. The demo
// and test passwords ("demo-password", "password-<name>") pass.
const (
	MinPassword          = 8  // members and team leads
	MinPasswordPrivilege = 10 // coordinators and admins: their accounts reach many people's data
	MaxPassword          = 128
)

// FieldError is input refused with a reason for one field, in English and
// Vietnamese (the API answers 422, or 409 for a conflict, naming Field).
// It wraps Kind, ErrInvalid when Kind is nil.
type FieldError struct {
	Field    string
	Reason   string // English
	ReasonVI string // Vietnamese
	Kind     error  // ErrInvalid (nil) or ErrConflict
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func (e *FieldError) Unwrap() error {
	if e.Kind == nil {
		return ErrInvalid
	}
	return e.Kind
}

func passwordError(en, vi string, args ...any) *FieldError {
	return &FieldError{Field: "password", Reason: fmt.Sprintf(en, args...), ReasonVI: fmt.Sprintf(vi, args...)}
}

// commonPasswords is the 30,000 most common passwords of zxcvbn's list
// (from breach corpora; github.com/trustelem/zxcvbn, MIT), plus a few
// Vietnamese and Toso-specific ones, lower-cased. Built on first use.
var commonPasswords = sync.OnceValue(func() map[string]bool {
	list := frequency.FrequencyLists["passwords"]
	m := make(map[string]bool, len(list)+len(localCommonPasswords))
	for _, p := range list {
		if utf8.RuneCountInString(p) >= MinPassword {
			m[strings.ToLower(p)] = true
		}
	}
	for _, p := range localCommonPasswords {
		m[p] = true
	}
	return m
})

// localCommonPasswords are guessable here and missing from the list above.
var localCommonPasswords = []string{
	"matkhau123", "matkhau@123", "matkhaumoi", "anhyeuem123", "emyeuanh", "emyeuanh123", "toiyeuem",
	"vietnam123", "vietnam@123", "hanoi123", "saigon123", "hochiminh", "123456a@", "12345678a", "a12345678",
	"toso1234", "toso12345", "tocongnghe", "tocongngheso", "congngheso", "chuyendoiso", "chuyendoiso123",
	"binhdanhocvuso", "vneid123", "vneid1234",
}

// CheckPassword tells whether password may be the password of a user with
// this phone and role, as a *FieldError saying why not.
func CheckPassword(password, phone string, role Role) error {
	n := utf8.RuneCountInString(password)
	min := MinPassword
	if role == RoleAdmin || role == RoleCoordinator {
		min = MinPasswordPrivilege
	}
	switch {
	case n < min:
		return passwordError("must have at least %d characters", "phải có ít nhất %d ký tự", min)
	case n > MaxPassword:
		return passwordError("must have at most %d characters", "không được dài quá %d ký tự", MaxPassword)
	case commonPasswords()[strings.ToLower(password)]:
		return passwordError("is one of the most common passwords", "là một trong những mật khẩu phổ biến nhất, dễ bị đoán")
	case repetitive(password):
		return passwordError("is a repeated character or pattern", "chỉ là một ký tự hoặc một cụm lặp lại")
	case sequential(password):
		return passwordError("is a simple sequence (such as 12345678 or abcdefgh)", "là một dãy đơn giản (như 12345678 hoặc abcdefgh)")
	case containsPhone(password, phone):
		return passwordError("contains the account's phone number", "chứa số điện thoại của tài khoản")
	}
	return nil
}

// repetitive: one unit of at most 4 characters repeated ("aaaaaaaa",
// "abababab", "123123123").
func repetitive(p string) bool {
	r := []rune(strings.ToLower(p))
	for unit := 1; unit <= 4 && unit < len(r); unit++ {
		same := true
		for i := unit; i < len(r) && same; i++ {
			same = r[i] == r[i-unit]
		}
		if same {
			return true
		}
	}
	return false
}

// sequential: at most two runs, each going up or down by one character or
// staying put ("12345678", "87654321", "1234abcd", "aaaa1234").
func sequential(p string) bool {
	r := []rune(strings.ToLower(p))
	runs := 0
	for i := 0; i < len(r); runs++ {
		j := i + 1 // the run starting at i ends before j
		if j < len(r) {
			if step := r[j] - r[i]; step >= -1 && step <= 1 {
				for j+1 < len(r) && r[j+1]-r[j] == step {
					j++
				}
				j++
			}
		}
		i = j
	}
	return runs <= 2
}

// containsPhone: the digits of the password hold the phone number's nine
// significant digits (0912345678, +84912345678, 912-345-678 alike).
func containsPhone(p, phone string) bool {
	digits := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsDigit(r) {
				return r
			}
			return -1
		}, s)
	}
	ph := digits(phone)
	if len(ph) < 9 {
		return false
	}
	return strings.Contains(digits(p), ph[len(ph)-9:])
}
