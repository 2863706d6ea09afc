package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argonParams are the cost of an argon2id hash; a hash records its own, so
// checking works whatever they were.
type argonParams struct {
	time, memory uint32 // passes, KiB
}

const (
	argonThreads = 1
	argonKeyLen  = 32
)

var (
	// argonOWASP is the OWASP minimum (19 MiB, t=2, p=1): about 27 ms here.
	argonOWASP = argonParams{time: 2, memory: 19 * 1024}
	// argonSimulation is for Options.Simulation only.
	argonSimulation = argonParams{time: 1, memory: 64}
)

// hashPassword returns an argon2id hash in the PHC string format. Store.hashSlots
// caps concurrent hashes: each holds 19 MiB, so a login storm queues instead
// of exhausting memory.
func (s *Store) hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	p := s.argon
	s.hashSlots <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, argonThreads, argonKeyLen)
	<-s.hashSlots
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// checkPassword reports whether password matches a hash from hashPassword.
func (s *Store) checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || m > 256*1024 || t > 10 || p == 0 {
		return false
	}
	s.hashSlots <- struct{}{}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	<-s.hashSlots
	return subtle.ConstantTimeCompare(got, want) == 1
}
