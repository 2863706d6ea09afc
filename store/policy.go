package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Role is what a user may do; the scope comes with it (team or area).
type Role string

const (
	RoleMember      Role = "member"
	RoleTeamLead    Role = "team_lead"
	RoleCoordinator Role = "coordinator"
	RoleAdmin       Role = "admin"
)

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool {
	switch r {
	case RoleMember, RoleTeamLead, RoleCoordinator, RoleAdmin:
		return true
	}
	return false
}

// InTeam reports whether the role belongs to a team (member or team lead).
func (r Role) InTeam() bool { return r == RoleMember || r == RoleTeamLead }

// Actor is the caller of a store method: who they are and where their reach
// ends. It is loaded from the database on every request (never from a token),
// so a deactivation, role change or team move takes effect at once.
//
// The methods on Actor are the one authorization policy of Toso: handlers,
// sync and reports all ask these questions and nothing else.
type Actor struct {
	UserID   int64
	Role     Role
	TeamID   int64  // member and team_lead
	AreaID   int64  // coordinator: the scope root; member/lead: the team's area
	AreaPath string // materialized path of AreaID
	DeviceID string // the device the request came from, if any
}

// System is the actor for command-line maintenance (migrations, imports,
// demo data): it may do what an admin may.
var System = Actor{Role: RoleAdmin}

// IsAdmin reports whether the actor is an admin.
func (a Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// CanSeeArea: admins see everything; coordinators their subtree; team
// members their team's area and its ancestors (the names the app shows).
func (a Actor) CanSeeArea(path string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return strings.HasPrefix(path, a.AreaPath)
	case RoleMember, RoleTeamLead:
		return strings.HasPrefix(a.AreaPath, path)
	}
	return false
}

// CanManageArea: admins anywhere; coordinators strictly below their root
// (a commune coordinator edits villages, not the commune itself).
func (a Actor) CanManageArea(path string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return path != a.AreaPath && strings.HasPrefix(path, a.AreaPath)
	}
	return false
}

// CanSeeTeam: admins; coordinators for teams in their subtree; members and
// leads for their own team.
func (a Actor) CanSeeTeam(teamID int64, teamAreaPath string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return strings.HasPrefix(teamAreaPath, a.AreaPath)
	case RoleMember, RoleTeamLead:
		return teamID == a.TeamID
	}
	return false
}

// CanManageTeam: admins; coordinators for teams in their subtree.
func (a Actor) CanManageTeam(teamAreaPath string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return strings.HasPrefix(teamAreaPath, a.AreaPath)
	}
	return false
}

// UserPlace is where a user sits in the tree, for policy questions about them.
type UserPlace struct {
	UserID   int64
	Role     Role
	TeamID   int64
	AreaPath string // the team's area for members/leads, the scope for coordinators, "" for admins
}

// CanSeeUser: yourself; admins; coordinators for users in their subtree;
// members and leads for their own team.
func (a Actor) CanSeeUser(u UserPlace) bool {
	if a.UserID != 0 && u.UserID == a.UserID {
		return true
	}
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return u.Role != RoleAdmin && strings.HasPrefix(u.AreaPath, a.AreaPath)
	case RoleMember, RoleTeamLead:
		return u.Role.InTeam() && u.TeamID == a.TeamID
	}
	return false
}

// CanManageUser: admins anyone; coordinators team members in their subtree
// and coordinators strictly below them. Nobody else.
func (a Actor) CanManageUser(u UserPlace) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		switch u.Role {
		case RoleMember, RoleTeamLead:
			return strings.HasPrefix(u.AreaPath, a.AreaPath)
		case RoleCoordinator:
			return u.AreaPath != a.AreaPath && strings.HasPrefix(u.AreaPath, a.AreaPath)
		}
	}
	return false
}

// subtreeRange returns the half-open range [lo, hi) of paths in the subtree
// rooted at path: "/1/7/" → ["/1/7/", "/1/70"), since '0' follows '/'.
func subtreeRange(path string) (lo, hi string) {
	return path, path[:len(path)-1] + "0"
}

// listRoot is the subtree whose rows the actor may list: everything for
// admins, the scope for coordinators, the team's area for team members.
func (a Actor) listRoot() string {
	if a.Role == RoleAdmin {
		return "/"
	}
	return a.AreaPath
}

// Actor loads the acting user with their current role and scope. An unknown
// or deactivated user, or a team or scope that no longer exists, yields
// ErrForbidden: a token outliving its user opens nothing.
func (s *Store) Actor(ctx context.Context, userID int64, deviceID string) (Actor, error) {
	return s.loadActor(ctx, userID, deviceID, "")
}

// SessionActor is Actor for a request bearing an access token: in the same
// query it checks that the session the token was issued in (its refresh
// token family, on that device, of that user) is still live, so a logout,
// a password change or a detected token reuse ends the access tokens too.
func (s *Store) SessionActor(ctx context.Context, userID int64, deviceID, sessionID string) (Actor, error) {
	if deviceID == "" || sessionID == "" {
		return Actor{}, fmt.Errorf("actor %d: no session: %w", userID, ErrForbidden)
	}
	return s.loadActor(ctx, userID, deviceID, sessionID)
}

func (s *Store) loadActor(ctx context.Context, userID int64, deviceID, sessionID string) (Actor, error) {
	var (
		a      = Actor{UserID: userID, DeviceID: deviceID}
		teamID sql.NullInt64
		areaID sql.NullInt64
		path   sql.NullString
		active bool
		live   bool
	)
	err := s.rstmts.queryRowPool(ctx, `
		SELECT u.role, u.team_id, COALESCE(u.area_id, t.area_id), a.path, u.active = 1 AND COALESCE(t.active, 1) = 1,
			? = '' OR EXISTS (SELECT 1 FROM refresh_tokens r -- "+": search by family (a few rows), not by user
				WHERE r.family_id = ? AND +r.user_id = u.id AND r.device_id = ? AND r.revoked_at IS NULL)
		FROM users u
		LEFT JOIN teams t ON t.id = u.team_id
		LEFT JOIN areas a ON a.id = COALESCE(u.area_id, t.area_id)
		WHERE u.id = ?`, sessionID, sessionID, deviceID, userID,
	).Scan(&a.Role, &teamID, &areaID, &path, &active, &live)
	if errors.Is(err, sql.ErrNoRows) {
		return Actor{}, fmt.Errorf("actor %d: %w", userID, ErrForbidden)
	} else if err != nil {
		return Actor{}, fmt.Errorf("actor %d: %w", userID, err)
	}
	if !active {
		return Actor{}, fmt.Errorf("actor %d is deactivated: %w", userID, ErrForbidden)
	}
	if !live {
		return Actor{}, fmt.Errorf("actor %d: session %s on device %s has ended: %w", userID, sessionID, deviceID, ErrForbidden)
	}
	a.TeamID, a.AreaID, a.AreaPath = teamID.Int64, areaID.Int64, path.String
	if a.Role != RoleAdmin && a.AreaPath == "" {
		return Actor{}, fmt.Errorf("actor %d has no scope: %w", userID, ErrForbidden)
	}
	return a, nil
}

// TeamRow is where a synced row sits, for policy questions about it.
type TeamRow struct {
	TeamID    int64
	TeamPath  string // materialized path of the team's area
	CreatedBy int64
}

// CanWriteTeamData: admins; coordinators for teams in their subtree;
// members and leads for their current team.
func (a Actor) CanWriteTeamData(teamID int64, teamPath string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return strings.HasPrefix(teamPath, a.AreaPath)
	case RoleMember, RoleTeamLead:
		return teamID == a.TeamID
	}
	return false
}

// CanWriteLog: an assistance log has a single author. The author while in
// the log's team, the team's lead, a coordinator of the area and admins may
// change it. A member moved to another team loses the old team's logs.
func (a Actor) CanWriteLog(r TeamRow) bool {
	switch a.Role {
	case RoleMember:
		return r.TeamID == a.TeamID && r.CreatedBy == a.UserID
	case RoleTeamLead:
		return r.TeamID == a.TeamID
	}
	return a.CanWriteTeamData(r.TeamID, r.TeamPath)
}

// CanEditLocked: locked rows (reviewed logs, locked sessions) are changed
// only by coordinators of the area and admins.
func (a Actor) CanEditLocked(teamPath string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return strings.HasPrefix(teamPath, a.AreaPath)
	}
	return false
}

// CanLockSession: moving a session to `locked` is a review decision.
func (a Actor) CanLockSession(teamPath string) bool { return a.CanEditLocked(teamPath) }

// CanReportProgress: team leads for their team, coordinators of the area
// and admins append progress reports.
func (a Actor) CanReportProgress(teamID int64, teamPath string) bool {
	if a.Role == RoleMember {
		return false
	}
	return a.CanWriteTeamData(teamID, teamPath)
}

// CanVoidProgress: only coordinators of the area and admins void a report.
func (a Actor) CanVoidProgress(teamPath string) bool { return a.CanEditLocked(teamPath) }

// CanResolveConflict: the user whose value lost (while still in the team),
// the team's lead, coordinators of the area and admins.
func (a Actor) CanResolveConflict(r TeamRow, lostBy int64) bool {
	switch a.Role {
	case RoleMember:
		return r.TeamID == a.TeamID && lostBy == a.UserID
	case RoleTeamLead:
		return r.TeamID == a.TeamID
	}
	return a.CanWriteTeamData(r.TeamID, r.TeamPath)
}

// CanAnnounce: admins and coordinators write announcements.
func (a Actor) CanAnnounce() bool { return a.Role == RoleAdmin || a.Role == RoleCoordinator }

// CanTargetArea: the area subtree at path may be an announcement's audience.
// Admins anywhere; coordinators inside their scope, their root included.
func (a Actor) CanTargetArea(path string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return strings.HasPrefix(path, a.AreaPath)
	}
	return false
}

// CanManageAnnouncement: publish, edit or retract an announcement whose
// audience areas are at targets. Admins; otherwise a coordinator whose
// scope holds every target and who is the author, or whose scope holds the
// author's scope (authorPath, "" when the author is an admin or has no
// scope): a commune coordinator may not publish or retract the province
// coordinator's draft, though its audience lies in the commune.
func (a Actor) CanManageAnnouncement(authorID int64, authorPath string, targets []string) bool {
	if a.Role == RoleAdmin {
		return true
	}
	if a.Role != RoleCoordinator || len(targets) == 0 {
		return false
	}
	for _, p := range targets {
		if !a.CanTargetArea(p) {
			return false
		}
	}
	if a.UserID != 0 && authorID == a.UserID {
		return true
	}
	return authorPath != "" && strings.HasPrefix(authorPath, a.AreaPath)
}

// CanSeeAnnouncement: see an announcement as its author's side does (not
// as a recipient: recipients read their inbox). Admins; the author; a
// coordinator whose scope overlaps a target (a commune coordinator follows
// a province-wide announcement, and its receipts for the commune).
func (a Actor) CanSeeAnnouncement(authorID int64, targets []string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		if a.UserID != 0 && authorID == a.UserID {
			return true
		}
		for _, p := range targets {
			if strings.HasPrefix(p, a.AreaPath) || strings.HasPrefix(a.AreaPath, p) {
				return true
			}
		}
	}
	return false
}

// --- Reports, targets and review (issue 4) ---

// CanReadReports: admins anywhere; coordinators in their subtree. Members
// and leads read their own team's figures only (Store.Report narrows them).
func (a Actor) CanReadReports(areaPath string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return strings.HasPrefix(areaPath, a.AreaPath)
	}
	return false
}

// canReadTargets: admins and coordinators in their subtree; members and
// leads the targets of their team's area.
func (a Actor) canReadTargets(areaPath string) bool {
	return a.CanReadReports(areaPath) || (a.Role.InTeam() && areaPath == a.AreaPath)
}

// CanManageTargets: admins anywhere; coordinators for areas strictly below
// their root (their own area's targets are handed down from above; they
// allocate them to the areas below).
func (a Actor) CanManageTargets(areaPath string) bool { return a.CanManageArea(areaPath) }

// CanAllocateTarget: splitting the target of the area at path among its
// child areas. Admins anywhere; coordinators for any area of their scope,
// their root included: a quota handed down to a coordinator's own area
// (which CanManageTargets keeps them from editing) is theirs to split.
// Members and leads never, though they read their area's targets.
func (a Actor) CanAllocateTarget(areaPath string) bool {
	switch a.Role {
	case RoleAdmin:
		return true
	case RoleCoordinator:
		return strings.HasPrefix(areaPath, a.AreaPath)
	}
	return false
}

// CanReview: locking reviewed logs and sessions, voiding progress reports
// and resolving sync conflicts are for coordinators of the area and admins.
func (a Actor) CanReview(teamAreaPath string) bool { return a.CanEditLocked(teamAreaPath) }
