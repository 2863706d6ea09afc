package dashboard

import (
	"strings"

	"toso/store"
)

// maxTrainings is how many sessions the list shows, newest first.
const maxTrainings = 200

type trainingRow struct {
	store.TrainingSession
	TopicNames string
}

type trainingsData struct {
	*scope
	ByChild  []childFigures // above commune level: sessions per child area
	Sessions []trainingRow
	Full     bool // the list hit maxTrainings
}

// trainings handles GET /trainings: for a commune or below, the sessions
// of the period newest first with their attendees; above, the sessions
// and attendees per child area (a province holds hundreds of thousands).
func (d *Dashboard) trainings(r *req) error {
	ctx := r.c.Context()
	s, err := d.scope(r, 0)
	if err != nil {
		return err
	}
	data := &trainingsData{scope: s}
	if s.Area.Level == "province" || s.Area.Level == "district" {
		rep, err := d.store.Report(ctx, r.actor, store.ReportQuery{AreaID: s.Area.ID, From: s.From, To: s.To,
			Metrics: store.HeadlineMetrics, TeamFiguresUpTo: -1})
		if err != nil {
			return err
		}
		if data.ByChild, err = d.children(r, s, rep); err != nil {
			return err
		}
	} else {
		l, err := d.labels(ctx, r.lang)
		if err != nil {
			return err
		}
		list, err := d.store.TrainingSessions(ctx, r.actor, store.TrainingFilter{AreaID: s.Area.ID, From: s.From, To: s.To, Limit: maxTrainings})
		if err != nil {
			return err
		}
		data.Full = len(list) == maxTrainings
		for _, t := range list {
			names := make([]string, len(t.Topics))
			for i, c := range t.Topics {
				names[i] = orCode(l.services, c)
			}
			data.Sessions = append(data.Sessions, trainingRow{TrainingSession: t, TopicNames: strings.Join(names, ", ")})
		}
	}
	v := d.newView(r, s, "/trainings", "nav.trainings")
	v.Data = data
	return d.render(r, 200, "trainings", v)
}

type trainingData struct {
	*scope
	Session   trainingRow
	Attendees []store.Attendee
}

// training handles GET /trainings/:id: one session and its attendees
// (names only where the person consented).
func (d *Dashboard) training(r *req) error {
	ctx := r.c.Context()
	t, att, err := d.store.TrainingSessionAttendees(ctx, r.actor, r.c.Params("id"))
	if err != nil {
		return err
	}
	s, err := d.scope(r, t.AreaID)
	if err != nil {
		return err
	}
	l, err := d.labels(ctx, r.lang)
	if err != nil {
		return err
	}
	names := make([]string, len(t.Topics))
	for i, c := range t.Topics {
		names[i] = orCode(l.services, c)
	}
	v := d.newView(r, s, "/trainings", "nav.trainings")
	v.Title = tr(r.lang, "training.title")
	v.Data = &trainingData{scope: s, Session: trainingRow{TrainingSession: *t, TopicNames: strings.Join(names, ", ")}, Attendees: att}
	return d.render(r, 200, "training", v)
}
