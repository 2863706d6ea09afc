package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold is how names are compared in searches: Unicode canonical
// decomposition (so precomposed NFC and decomposed NFD input are alike),
// combining marks dropped (the tones and the hat, horn and breve of
// Vietnamese vowels), đ and Đ as d, lower case, runs of spaces as one.
// "Nguyễn Văn Đức" folds to "nguyen van duc".
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// foldMissing fills name_fold where a writer left it NULL (the benchmark
// generator's raw inserts, rows from before the column existed), at Open,
// in batches of one transaction each.
func (s *Store) foldMissing(ctx context.Context) error {
	for _, table := range []string{"users", "teams", "areas"} {
		for {
			n, err := s.foldBatch(ctx, table, 5000)
			if err != nil {
				return fmt.Errorf("fold %s names: %w", table, err)
			}
			if n == 0 {
				break
			}
		}
	}
	return nil
}

func (s *Store) foldBatch(ctx context.Context, table string, limit int) (int, error) {
	n := 0
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// table is one of three constants above, never input.
		rows, err := tx.QueryContext(ctx, `SELECT id, name FROM `+table+` WHERE name_fold IS NULL LIMIT ?`, limit)
		if err != nil {
			return err
		}
		type row struct {
			id   int64
			name string
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.name); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `UPDATE `+table+` SET name_fold = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range batch {
			if _, err := stmt.ExecContext(ctx, Fold(r.name), r.id); err != nil {
				return err
			}
		}
		n = len(batch)
		return nil
	})
	return n, err
}
