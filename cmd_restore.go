package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"toso/store"
)

// runRestore handles "toso restore [-db toso.db] BACKUP": it makes a backup
// (from toso backup) the database, with the server stopped.
//
//  1. The backup is copied beside the database (BACKUP itself is never
//     changed), opened, migrated to this binary's schema, and checked
//     (integrity_check, foreign_key_check).
//  2. The copy's change sequence jumps ahead and every phone's cursors reset
//     (store.MarkRestored): phones pull their scopes again from the restored
//     state and skip nothing, whatever they saw after the backup was taken.
//  3. Only then is the database replaced: the old file is kept as
//     DB.before-restore-TIME, never deleted. A database still open elsewhere
//     (a running server) is refused before anything moves.
//
// On PostgreSQL the dump is restored by pg_restore, and Toso does step 2
// only: "toso restore --db URL --after-pg-restore" (restorePG).
func runRestore(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", "BACKUP", stderr)
	db := fs.String("db", "toso.db", "database file, or postgres://user:pass@host:5432/db for PostgreSQL")
	afterPG := fs.Bool("after-pg-restore", false, "PostgreSQL only, no BACKUP: the database was just restored with pg_restore "+
		"and no Toso node runs; migrate it and make every phone pull its scopes again")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if store.IsPostgres(*db) {
		if !*afterPG || fs.NArg() != 0 {
			return errRestorePG
		}
		return restorePG(ctx, *db, stdout)
	}
	if *afterPG {
		return fmt.Errorf("%w: --after-pg-restore is for a PostgreSQL database (--db postgres://…)", errUsage)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: toso restore [flags] BACKUP", errUsage)
	}
	return restoreSQLite(ctx, *db, fs.Arg(0), stdout, stderr)
}

// errRestorePG is toso restore's answer on PostgreSQL without
// --after-pg-restore.
var errRestorePG = fmt.Errorf("%w: toso restore restores SQLite backups only; on PostgreSQL stop every Toso node, restore "+
	"the dump with pg_restore (e.g. pg_restore --clean --if-exists -d URL toso.dump), then run "+
	"toso restore --db URL --after-pg-restore before serving, so every phone pulls its scopes again", errUsage)

// restorePG does on a database pg_restore just filled what a restore does
// on SQLite after the copy: migrate it to this binary's schema and move the
// change sequence ahead (store.MarkRestored), with no other session
// connected (a node serving the old numbering would hand phones cursors
// the jump must cover). PostgreSQL checks references on every write, so
// there is no integrity_check to run.
func restorePG(ctx context.Context, db string, stdout io.Writer) error {
	if err := store.CheckNotInUse(ctx, db); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer st.Close()
	schema, err := st.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	from, to, err := st.MarkRestored(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "marked %s as restored: schema %d; phones will pull their scopes again (sequence %d → %d)\n",
		store.Redacted(db), schema, from, to)
	return nil
}

// restoreSQLite makes the backup file the database at db.
func restoreSQLite(ctx context.Context, db, backup string, stdout, stderr io.Writer) error {
	if err := checkSQLiteFile(backup); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if same, _ := sameFile(backup, db); same {
		return fmt.Errorf("restore: %s is the database itself", backup)
	}
	exists := fileExists(db)
	if exists {
		if err := store.CheckNotInUse(ctx, db); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	start := time.Now()
	staged := db + ".restoring"
	removeDB(staged) // a restore interrupted earlier
	fmt.Fprintf(stderr, "restore: copying %s…\n", backup)
	if err := copyFile(backup, staged); err != nil {
		removeDB(staged)
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stderr, "restore: migrating and checking the copy (integrity_check, foreign_key_check)…\n")
	schema, from, to, err := prepareRestore(ctx, staged)
	if err != nil {
		removeDB(staged)
		return fmt.Errorf("restore: %s: %w (nothing was changed)", backup, err)
	}
	kept := ""
	if exists {
		if err := store.CheckNotInUse(ctx, db); err != nil { // again: a server may have started meanwhile
			removeDB(staged)
			return fmt.Errorf("restore: %w", err)
		}
		kept = db + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(db, kept); err != nil {
			removeDB(staged)
			return fmt.Errorf("restore: %w", err)
		}
		for _, suffix := range []string{"-wal", "-shm"} { // none after a clean close; kept with the old file if any
			if fileExists(db + suffix) {
				if err := os.Rename(db+suffix, kept+suffix); err != nil {
					return fmt.Errorf("restore: %w", err)
				}
			}
		}
	}
	if err := os.Rename(staged, db); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := syncDir(filepath.Dir(db)); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s to %s in %s: schema %d, integrity ok; phones will pull their scopes again (sequence %d → %d)\n",
		backup, db, time.Since(start).Round(time.Millisecond), schema, from, to)
	if kept != "" {
		fmt.Fprintf(stdout, "the previous database is kept as %s\n", kept)
	}
	return nil
}

// prepareRestore migrates, checks and marks the staged copy, then closes it
// (which folds its WAL into the file).
func prepareRestore(ctx context.Context, path string) (schema int, from, to int64, err error) {
	st, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err == nil && fileExists(path+"-wal") {
			err = errors.New("the copy's write-ahead log was not folded in on close")
		}
	}()
	if err := st.Integrity(ctx); err != nil {
		return 0, 0, 0, err
	}
	if schema, err = st.SchemaVersion(ctx); err != nil {
		return 0, 0, 0, err
	}
	from, to, err = st.MarkRestored(ctx)
	return schema, from, to, err
}

// checkSQLiteFile refuses what is not an SQLite database before anything
// is copied.
func checkSQLiteFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 16)
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, []byte("SQLite format 3\x00")) {
		return fmt.Errorf("%s is not an SQLite database (a file from toso backup)", path)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// removeDB removes a database file and its WAL and shared-memory files.
func removeDB(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}
