package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"toso/store"
)

// The server's two secrets live outside the database, so that a copy of
// the database (a backup, a stolen disk image of the data folder) reveals
// no citizen: with the citizen key beside the refs, an HMAC loop over the
// ~2 million plausible numbers recovers them in seconds.
//
// Each comes from, in order: the flag or environment (TOSO_CITIZEN_KEY,
// TOSO_JWT_SECRET); the key file (--key-file/TOSO_KEY_FILE, or else on
// SQLite DB.keys beside the database; mode 0600); a key an older Toso kept
// in the database's settings, which is moved into the key file and deleted
// from the database; or, for the commands that create data (serve, demo,
// generate), a new random key written to the key file. `toso backup`
// copies the database only.
//
// On PostgreSQL the database is a URL, with no folder beside it, and the
// keys are never stored in it (issue 15): they come from the flags or the
// environment, or from the key file --key-file names (created on first
// start as on SQLite). Several nodes serving one database must share them.

// keys are the secrets a command runs with ("" when it needs none and none
// exists yet).
type keys struct {
	CitizenKey string
	JWTSecret  string
}

// keyFile is where the keys of cfg.DB are kept: --key-file, or else the
// file beside an SQLite database; "" for PostgreSQL without --key-file.
func keyFile(cfg Config) string {
	switch {
	case cfg.KeyFile != "":
		return cfg.KeyFile
	case store.IsPostgres(cfg.DB):
		return ""
	}
	return cfg.DB + ".keys"
}

// errNoPGKeys is what a command that must create keys says on PostgreSQL
// when it is given neither the keys nor a key file.
var errNoPGKeys = fmt.Errorf("%w: on PostgreSQL the keys are never stored in the database and there is no folder beside it "+
	"for a key file: give TOSO_CITIZEN_KEY and TOSO_JWT_SECRET (≥ 32 characters each; --citizen-key, --jwt-secret), or "+
	"--key-file PATH (TOSO_KEY_FILE), created with mode 0600 on first start; every node serving the database needs the same keys", errUsage)

const keyFileHeader = `# Toso's secrets for the database beside this file. Keep this file (mode
# 0600) and a copy of it apart from the database and its backups: without
# citizen_key the citizen refs of the database can never be matched again,
# and with it beside the data anyone could recover the numbers behind them.
`

// openStore resolves the keys for cfg.DB (creating missing ones when
// create is set), opens the store with the citizen key and, when a key was
// still kept in the database, deletes it from there once it is safe in the
// key file.
func openStore(ctx context.Context, cfg Config, log *slog.Logger, create bool) (*store.Store, keys, error) {
	k, moved, err := resolveKeys(ctx, cfg, create)
	if err != nil {
		return nil, keys{}, err
	}
	st, err := store.Open(ctx, cfg.DB, store.Options{CitizenKey: k.CitizenKey})
	if err != nil {
		return nil, keys{}, err
	}
	if len(moved) > 0 {
		if err := st.ForgetStoredSecrets(ctx); err != nil {
			st.Close()
			return nil, keys{}, err
		}
		log.Warn("moved secrets out of the database into the key file: keep that file apart from the database and its "+
			"backups, and back it up on its own (backups made before today still hold the keys: destroy them or keep them as safe as the key file)",
			"moved", strings.Join(moved, ", "), "key_file", keyFile(cfg))
	}
	return st, k, nil
}

// resolveKeys finds or makes the keys (see the comment at the top) and
// returns which keys it moved out of the database into the key file.
func resolveKeys(ctx context.Context, cfg Config, create bool) (keys, []string, error) {
	path := keyFile(cfg)
	if path == "" { // PostgreSQL, no key file: the keys given or none
		if create && (cfg.CitizenKey == "" || cfg.JWTSecret == "") {
			return keys{}, nil, errNoPGKeys
		}
		return keys{CitizenKey: cfg.CitizenKey, JWTSecret: cfg.JWTSecret}, nil, nil
	}
	file, err := readKeyFile(path)
	if err != nil {
		return keys{}, nil, err
	}
	stored, err := store.StoredSecrets(ctx, cfg.DB)
	if err != nil {
		return keys{}, nil, err
	}
	var (
		k      keys
		moved  []string
		change bool // the key file must be (re)written
	)
	for _, s := range []struct {
		name  string
		given string
		out   *string
	}{{"citizen_key", cfg.CitizenKey, &k.CitizenKey}, {"jwt_secret", cfg.JWTSecret, &k.JWTSecret}} {
		v, inFile, inDB := s.given, file[s.name], stored[s.name]
		if v == "" {
			v = inFile
		}
		if s.name == "citizen_key" && inDB != "" && v != "" && v != inDB {
			return keys{}, nil, fmt.Errorf("the citizen key given (flag, environment or %s) differs from the one kept in the "+
				"database, with which its citizen refs were made: remove the one that is wrong, or the same citizen will be counted twice", path)
		}
		switch {
		case v != "":
		case inDB != "":
			v, change = inDB, true
		case create:
			if s.name == "citizen_key" {
				has, err := store.HasCitizenRefs(ctx, cfg.DB)
				if err != nil {
					return keys{}, nil, err
				} else if has {
					return keys{}, nil, fmt.Errorf("%s holds citizen refs but its citizen key is missing: put its key file back at %s "+
						"(or give TOSO_CITIZEN_KEY); a new key would count every citizen again", store.Redacted(cfg.DB), path)
				}
			}
			b := make([]byte, 32)
			rand.Read(b)
			v, change = hex.EncodeToString(b), true
		}
		if inDB != "" {
			moved = append(moved, s.name)
		}
		if v != "" && s.given == "" {
			file[s.name] = v
		}
		*s.out = v
	}
	if change {
		if err := writeKeyFile(path, file); err != nil {
			return keys{}, nil, err
		}
	}
	return k, moved, nil
}

// readKeyFile reads name=value lines ("#" comments); a missing file is
// empty. A file others may read is refused: it is the key to the citizens.
func readKeyFile(path string) (map[string]string, error) {
	out := map[string]string{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	} else if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by others (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || len(strings.TrimSpace(value)) < 32 {
			return nil, fmt.Errorf("key file %s, line %d: want name=value with a value of at least 32 characters", path, n)
		}
		out[strings.TrimSpace(name)] = strings.TrimSpace(value)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	return out, nil
}

// writeKeyFile writes the keys durably with mode 0600: a temporary file,
// fsync, rename, fsync of the folder, so a crash leaves the old file or
// the new one.
func writeKeyFile(path string, k map[string]string) error {
	var b strings.Builder
	b.WriteString(keyFileHeader)
	for _, name := range []string{"citizen_key", "jwt_secret"} {
		if v := k[name]; v != "" {
			fmt.Fprintf(&b, "%s=%s\n", name, v)
		}
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
