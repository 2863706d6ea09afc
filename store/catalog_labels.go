package store

import (
	"context"
	"fmt"
)

// Label is one catalog entry (service, barrier or indicator) with its
// labels; Kind is set for indicators (count or percent).
type Label struct {
	Code string
	Vi   string
	En   string
	Kind string
}

// Catalog holds the active services, barriers and indicators in their
// display order. Every signed-in user reads it (phones pull it through sync).
type Catalog struct {
	Services   []Label
	Barriers   []Label
	Indicators []Label
}

// Catalog loads the catalogs.
func (s *Store) Catalog(ctx context.Context) (*Catalog, error) {
	var c Catalog
	for _, q := range []struct {
		into *[]Label
		sql  string
	}{
		{&c.Services, `SELECT code, label_vi, label_en, '' FROM services WHERE active = 1 ORDER BY sort, code`},
		{&c.Barriers, `SELECT code, label_vi, label_en, '' FROM barriers WHERE active = 1 ORDER BY sort, code`},
		{&c.Indicators, `SELECT code, label_vi, label_en, kind FROM indicators WHERE active = 1 ORDER BY sort, code`},
	} {
		rows, err := s.read.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		for rows.Next() {
			var l Label
			if err := rows.Scan(&l.Code, &l.Vi, &l.En, &l.Kind); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: %w", err)
			}
			*q.into = append(*q.into, l)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
	}
	return &c, nil
}
