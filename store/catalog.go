package store

// The catalog scope: services, barriers and indicators (read-only for
// phones, id = code) and the areas the user works in.

func servicesTable() *syncTable {
	return &syncTable{
		name:  "services",
		scope: scopeCatalog,
		pullCols: `json_object('code', r.code, 'label_vi', r.label_vi, 'label_en', r.label_en, 'sort', r.sort,
			'active', ` + jbool("r.active") + `, 'version', r.version)`,
		pullFrom: `services r`,
		idCol:    `r.code`,
		live:     `true`,
	}
}

func barriersTable() *syncTable {
	t := servicesTable()
	t.name, t.pullFrom = "barriers", `barriers r`
	return t
}

func indicatorsTable() *syncTable {
	return &syncTable{
		name:  "indicators",
		scope: scopeCatalog,
		pullCols: `json_object('code', r.code, 'label_vi', r.label_vi, 'label_en', r.label_en, 'kind', r.kind,
			'numerator', r.numerator, 'denominator', r.denominator, 'national_ref', r.national_ref, 'sort', r.sort,
			'active', ` + jbool("r.active") + `, 'version', r.version)`,
		pullFrom: `indicators r`,
		idCol:    `r.code`,
		live:     `true`,
	}
}

// areasTable: a member sees their team's area, its subtree (villages) and
// its ancestors; a coordinator their scope's subtree and ancestors; an
// admin every area.
func areasTable() *syncTable {
	return &syncTable{
		name:  "areas",
		scope: scopeCatalog,
		pullCols: `json_object('id', r.id, 'parent_id', r.parent_id, 'level', r.level, 'name', r.name, 'code', r.code,
			'valid_from', r.valid_from, 'valid_to', r.valid_to, 'population', r.population, 'adults', r.adults,
			'working_age', r.working_age, 'households', r.households, 'version', r.version)`,
		pullFrom: `areas r`,
		live:     `true`,
		pullFilter: func(a Actor) (string, []any) {
			if a.Role == RoleAdmin {
				return `true`, nil
			}
			lo, hi := subtreeRange(a.AreaPath)
			ids := pathIDs(a.AreaPath)
			args := []any{lo, hi}
			for _, id := range ids {
				args = append(args, id)
			}
			return `((r.path >= ? AND r.path < ?) OR r.id IN (` + placeholders(len(ids)) + `))`, args
		},
	}
}
