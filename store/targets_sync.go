package store

// targetProgressTable syncs a team's targets with their confirmed progress
// in the team scope: one row per target on the team's area (team_targets),
// read-only for phones. Row id is "<target id>:<team id>".
func targetProgressTable() *syncTable {
	return &syncTable{
		name:  "target_progress",
		scope: scopeTeam,
		pullCols: `json_object('id', r.id, 'target_id', g.id, 'team_id', r.team_id, 'indicator', g.indicator,
			'kind', g.kind, 'area_id', g.area_id, 'period', g.period, 'name', g.name, 'starts_on', g.starts_on,
			'ends_on', g.ends_on, 'goal', g.goal, 'numerator', p.numerator, 'denominator', p.denominator,
			'value', p.value, 'status', p.status, 'as_of', p.as_of, 'version', r.version)`,
		pullFrom: `team_targets r JOIN targets g ON g.id = r.target_id JOIN target_progress p ON p.target_id = r.target_id`,
		live:     `true`,
	}
}
