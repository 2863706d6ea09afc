package store

import "testing"

func TestPolicy(t *testing.T) {
	// Tree: /1/ province, /1/2/ commune A, /1/2/4/ village A1, /1/3/ commune B, /1/3/5/ village B1.
	var (
		admin  = Actor{UserID: 1, Role: RoleAdmin}
		coordP = Actor{UserID: 2, Role: RoleCoordinator, AreaPath: "/1/"}
		coordA = Actor{UserID: 3, Role: RoleCoordinator, AreaPath: "/1/2/"}
		leadA1 = Actor{UserID: 4, Role: RoleTeamLead, TeamID: 10, AreaPath: "/1/2/4/"}
		membA1 = Actor{UserID: 5, Role: RoleMember, TeamID: 10, AreaPath: "/1/2/4/"}
		membB1 = Actor{UserID: 6, Role: RoleMember, TeamID: 20, AreaPath: "/1/3/5/"}
		// A commune 12 must not be inside commune 1's subtree just because "/1" prefixes "/12".
		coord1 = Actor{UserID: 7, Role: RoleCoordinator, AreaPath: "/1/"}
	)
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"admin sees any area", admin.CanSeeArea("/1/3/5/"), true},
		{"coordinator sees own root", coordA.CanSeeArea("/1/2/"), true},
		{"coordinator sees subtree", coordA.CanSeeArea("/1/2/4/"), true},
		{"coordinator does not see sibling", coordA.CanSeeArea("/1/3/"), false},
		{"coordinator does not see parent", coordA.CanSeeArea("/1/"), false},
		{"path prefix is by segment", coord1.CanSeeArea("/12/"), false},
		{"member sees team area", membA1.CanSeeArea("/1/2/4/"), true},
		{"member sees ancestors", membA1.CanSeeArea("/1/"), true},
		{"member does not see sibling village", membA1.CanSeeArea("/1/2/6/"), false},
		{"coordinator manages below root", coordA.CanManageArea("/1/2/4/"), true},
		{"coordinator does not manage own root", coordA.CanManageArea("/1/2/"), false},
		{"team lead manages no area", leadA1.CanManageArea("/1/2/4/"), false},
		{"member sees own team", membA1.CanSeeTeam(10, "/1/2/4/"), true},
		{"member does not see other team", membA1.CanSeeTeam(20, "/1/3/5/"), false},
		{"member does not see other team in same village", membA1.CanSeeTeam(11, "/1/2/4/"), false},
		{"coordinator sees team in subtree", coordA.CanSeeTeam(10, "/1/2/4/"), true},
		{"coordinator does not see team outside", coordA.CanSeeTeam(20, "/1/3/5/"), false},
		{"lead does not manage team", leadA1.CanManageTeam("/1/2/4/"), false},
		{"province coordinator manages team", coordP.CanManageTeam("/1/3/5/"), true},
		{"member sees teammate", membA1.CanSeeUser(UserPlace{UserID: 4, Role: RoleTeamLead, TeamID: 10, AreaPath: "/1/2/4/"}), true},
		{"member does not see other team's member", membA1.CanSeeUser(UserPlace{UserID: 6, Role: RoleMember, TeamID: 20, AreaPath: "/1/3/5/"}), false},
		{"member sees self", membB1.CanSeeUser(UserPlace{UserID: 6, Role: RoleMember, TeamID: 20, AreaPath: "/1/3/5/"}), true},
		{"member does not see coordinator", membA1.CanSeeUser(UserPlace{UserID: 3, Role: RoleCoordinator, AreaPath: "/1/2/"}), false},
		{"coordinator does not see admin", coordP.CanSeeUser(UserPlace{UserID: 1, Role: RoleAdmin}), false},
		{"coordinator manages member in subtree", coordA.CanManageUser(UserPlace{UserID: 5, Role: RoleMember, TeamID: 10, AreaPath: "/1/2/4/"}), true},
		{"coordinator does not manage member outside", coordA.CanManageUser(UserPlace{UserID: 6, Role: RoleMember, TeamID: 20, AreaPath: "/1/3/5/"}), false},
		{"coordinator does not manage peer", coordA.CanManageUser(UserPlace{UserID: 8, Role: RoleCoordinator, AreaPath: "/1/2/"}), false},
		{"coordinator manages coordinator below", coordP.CanManageUser(UserPlace{UserID: 3, Role: RoleCoordinator, AreaPath: "/1/2/"}), true},
		{"coordinator does not manage admin", coordP.CanManageUser(UserPlace{UserID: 1, Role: RoleAdmin}), false},
		{"lead does not manage member", leadA1.CanManageUser(UserPlace{UserID: 5, Role: RoleMember, TeamID: 10, AreaPath: "/1/2/4/"}), false},
		{"zero actor sees nothing", Actor{}.CanSeeArea("/1/"), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestSubtreeRange(t *testing.T) {
	lo, hi := subtreeRange("/1/7/")
	for _, p := range []string{"/1/7/", "/1/7/42/", "/1/7/9/"} {
		if !(p >= lo && p < hi) {
			t.Errorf("%s not in [%s, %s)", p, lo, hi)
		}
	}
	for _, p := range []string{"/1/70/", "/1/8/", "/1/", "/1/6/"} {
		if p >= lo && p < hi {
			t.Errorf("%s in [%s, %s), want outside", p, lo, hi)
		}
	}
}
