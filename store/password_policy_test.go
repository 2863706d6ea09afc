package store

import (
	"errors"
	"testing"
)

func TestCheckPassword(t *testing.T) {
	const phone = "0912345678"
	tests := []struct {
		name, password string
		role           Role
		ok             bool
	}{
		{"the demo password", "demo-password", RoleAdmin, true},
		{"a test fixture's", "password-memberA1", RoleMember, true},
		{"a passphrase", "correct horse", RoleMember, true},
		{"eight random characters", "k7#Qm2vX", RoleMember, true},
		{"too short", "k7#Qm2v", RoleMember, false},
		{"nine characters for a coordinator", "k7#Qm2vXa", RoleCoordinator, false},
		{"nine characters for an admin", "k7#Qm2vXa", RoleAdmin, false},
		{"ten characters for a coordinator", "k7#Qm2vXab", RoleCoordinator, true},
		{"12345678", "12345678", RoleMember, false},
		{"password", "password", RoleMember, false},
		{"PASSWORD in capitals", "PASSWORD", RoleMember, false},
		{"aaaaaaaa", "aaaaaaaa", RoleMember, false},
		{"a repeated pair", "abababab", RoleMember, false},
		{"a repeated triple", "123123123", RoleMember, false},
		{"descending", "87654321", RoleMember, false},
		{"letters in order", "abcdefghij", RoleAdmin, false},
		{"two runs", "1234abcd", RoleMember, false},
		{"a Vietnamese favourite", "anhyeuem123", RoleMember, false},
		{"matkhau123", "matkhau123", RoleMember, false},
		{"the phone number", "0912345678", RoleMember, false},
		{"the phone number with +84", "+84912345678", RoleMember, false},
		{"the phone inside", "toi-912345678!", RoleMember, false},
		{"another phone number", "0987654320x", RoleMember, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPassword(tt.password, phone, tt.role)
			if tt.ok && err != nil {
				t.Errorf("CheckPassword(%q, %s) = %v, want nil", tt.password, tt.role, err)
			}
			if !tt.ok {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != "password" || fe.ReasonVI == "" || !errors.Is(err, ErrInvalid) {
					t.Errorf("CheckPassword(%q, %s) = %v, want a password FieldError wrapping ErrInvalid", tt.password, tt.role, err)
				}
			}
		})
	}
	if n := len(commonPasswords()); n < 10_000 {
		t.Errorf("%d common passwords of at least %d characters, want at least 10,000", n, MinPassword)
	}
}
