package mobileapi

import (
	"github.com/gofiber/fiber/v3"

	"toso/store"
)

type userResponse struct {
	ID        int64  `json:"id"`
	Phone     string `json:"phone"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	TeamID    *int64 `json:"team_id"`
	AreaID    *int64 `json:"area_id"`
	Gender    string `json:"gender,omitempty"`
	Active    bool   `json:"active"`
	Version   int64  `json:"version"`
	UpdatedAt string `json:"updated_at"`
}

func newUserResponse(u *store.User) userResponse {
	r := userResponse{
		ID: u.ID, Phone: u.Phone, Name: u.Name, Role: string(u.Role), Gender: u.Gender, Active: u.Active,
		Version: u.Version, UpdatedAt: rfc3339(u.UpdatedAt),
	}
	if u.TeamID != 0 {
		r.TeamID = &u.TeamID
	}
	if u.AreaID != 0 {
		r.AreaID = &u.AreaID
	}
	return r
}

// me handles GET /v1/me: the caller and where they stand.
func (a *API) me(c fiber.Ctx) error {
	act := actor(c)
	u, err := a.store.User(c.Context(), act, act.UserID)
	if err != nil {
		return err
	}
	return c.JSON(newUserResponse(u))
}

type listUsersQuery struct {
	TeamID int64  `query:"team_id" validate:"gte=0"`
	AreaID int64  `query:"area_id" validate:"gte=0"`
	Role   string `query:"role" validate:"omitempty,oneof=member team_lead coordinator admin"`
	Q      string `query:"q" validate:"max=100"`
	Active *bool  `query:"active"`
	After  int64  `query:"after" validate:"gte=0"`
	Limit  int    `query:"limit" validate:"gte=0,lte=500"`
}

// listUsers handles GET /v1/users.
func (a *API) listUsers(c fiber.Ctx) error {
	var q listUsersQuery
	if err := c.Bind().Query(&q); err != nil {
		return err
	}
	users, err := a.store.Users(c.Context(), actor(c), store.UserFilter{
		TeamID: q.TeamID, AreaID: q.AreaID, Role: store.Role(q.Role), Query: q.Q, Active: q.Active, After: q.After, Limit: q.Limit,
	})
	if err != nil {
		return err
	}
	items := make([]userResponse, len(users))
	for i := range users {
		items[i] = newUserResponse(&users[i])
	}
	return c.JSON(newPage(items, q.Limit, func(r userResponse) int64 { return r.ID }))
}

// getUser handles GET /v1/users/:id.
func (a *API) getUser(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	u, err := a.store.User(c.Context(), actor(c), id)
	if err != nil {
		return err
	}
	return c.JSON(newUserResponse(u))
}

type createUserRequest struct {
	Phone    string `json:"phone" validate:"required,max=20"`
	Name     string `json:"name" validate:"required,max=200"`
	Role     string `json:"role" validate:"required,oneof=member team_lead coordinator admin"`
	TeamID   int64  `json:"team_id" validate:"required_if=Role member,required_if=Role team_lead,gte=0"`
	AreaID   int64  `json:"area_id" validate:"required_if=Role coordinator,gte=0"`
	Gender   string `json:"gender" validate:"omitempty,oneof=female male other"`
	Password string `json:"password" validate:"required,min=8,max=128"`
}

// createUser handles POST /v1/users.
func (a *API) createUser(c fiber.Ctx) error {
	var req createUserRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	if _, err := store.NormalizePhone(req.Phone); err != nil {
		return fieldProblem("phone", "phone")
	}
	u, err := a.store.CreateUser(c.Context(), actor(c), store.NewUser{
		Phone: req.Phone, Name: req.Name, Role: store.Role(req.Role), TeamID: req.TeamID, AreaID: req.AreaID,
		Gender: req.Gender, Password: req.Password,
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(newUserResponse(u))
}

type updateUserRequest struct {
	Name     *string `json:"name" validate:"omitempty,min=1,max=200"`
	Role     *string `json:"role" validate:"omitempty,oneof=member team_lead coordinator admin"`
	TeamID   *int64  `json:"team_id" validate:"omitempty,gt=0"`
	AreaID   *int64  `json:"area_id" validate:"omitempty,gt=0"`
	Gender   *string `json:"gender" validate:"omitempty,oneof=female male other"`
	Active   *bool   `json:"active"`
	Password *string `json:"password" validate:"omitempty,min=8,max=128"`
}

// updateUser handles PATCH /v1/users/:id: rename, change role, move to
// another team or scope, (de)activate, reset the password.
func (a *API) updateUser(c fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var req updateUserRequest
	if err := c.Bind().JSON(&req); err != nil {
		return err
	}
	p := store.UserPatch{Name: req.Name, TeamID: req.TeamID, AreaID: req.AreaID, Gender: req.Gender, Active: req.Active, Password: req.Password}
	if req.Role != nil {
		r := store.Role(*req.Role)
		p.Role = &r
	}
	u, err := a.store.UpdateUser(c.Context(), actor(c), id, p)
	if err != nil {
		return err
	}
	return c.JSON(newUserResponse(u))
}
