package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"toso/store"
)

const csvType = "text/csv; charset=utf-8"

func (e *testEnv) countAreas() int {
	e.t.Helper()
	list, err := e.store.Areas(context.Background(), store.System, store.AreaFilter{Limit: store.MaxPageSize})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
}

type importRowJSON struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

func importRows(t *testing.T, r response) []importRowJSON {
	t.Helper()
	var env struct {
		Error struct {
			Rows []importRowJSON `json:"rows"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return env.Error.Rows
}

func TestImportAreasEndpoint(t *testing.T) {
	e := newTestEnv(t)
	villages := "\uFEFFMã tỉnh,Tên tỉnh,Mã xã,Tên xã,Tên thôn,Dân số\n" +
		"99,Tỉnh Thử,99001,Xã A,Thôn A3,1200\n" +
		"99,Tỉnh Thử,99001,Xã A,Thôn A1,1500\n"

	r := e.do("POST", "/v1/areas/import", e.token("coordA"), []byte(villages), "Content-Type", csvType)
	if r.Status != 200 {
		t.Fatalf("coordinator of A: status %d, body %s", r.Status, r.Body)
	}
	want := map[string]any{
		"shape": "two-level", "rows": 2.0, "ignored_columns": []any{},
		"levels": map[string]any{
			"province": map[string]any{"created": 0.0, "updated": 0.0, "unchanged": 1.0},
			"commune":  map[string]any{"created": 0.0, "updated": 0.0, "unchanged": 1.0},
			"village":  map[string]any{"created": 1.0, "updated": 1.0, "unchanged": 0.0},
		},
	}
	if diff := cmp.Diff(want, r.JSON(t)); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}

	before := e.countAreas()
	bad := "province_code,province_name,commune_code,commune_name,village_name,population\n" +
		"99,Tỉnh Thử,99002,Xã B,Thôn B9,100\n" + // commune B: outside coordA's area
		"99,Tỉnh Thử,99001,Xã A,Thôn A4,lots\n"
	r = e.do("POST", "/v1/areas/import", e.token("coordA"), []byte(bad), "Content-Type", csvType, "Accept-Language", "en")
	if r.Status != 422 || r.ErrorCode() != "import_failed" {
		t.Fatalf("bad file: status %d, body %s; want 422 import_failed", r.Status, r.Body)
	}
	wantRows := []importRowJSON{
		{3, "population", `"lots" is not a whole number from 0 to 1,000,000,000`},
	}
	if diff := cmp.Diff(wantRows, importRows(t, r)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	// Parsing errors come first; once the file parses, the policy speaks
	// (in Vietnamese unless English is asked for).
	outside := "province_code,province_name,commune_code,commune_name,village_name\n99,Tỉnh Thử,99002,Xã B,Thôn B9\n"
	r = e.do("POST", "/v1/areas/import", e.token("coordA"), []byte(outside), "Content-Type", csvType)
	if diff := cmp.Diff([]importRowJSON{{2, "commune_name", "ngoài địa bàn của bạn"}}, importRows(t, r)); r.Status != 422 || diff != "" {
		t.Errorf("outside: status %d (-want +got):\n%s", r.Status, diff)
	}
	if got := e.countAreas(); got != before {
		t.Errorf("areas after rejected imports = %d, want %d", got, before)
	}
	if msg := r.JSON(t)["error"].(map[string]any)["message"]; msg != "Tệp có lỗi; chưa có dữ liệu nào được nhập." {
		t.Errorf("message = %q, want the Vietnamese import_failed text", msg)
	}

	for _, tc := range []struct {
		name, token, ctype, encoding string
		wantStatus                   int
		wantCode                     string
	}{
		{"member", e.token("memberA1"), csvType, "", 403, "forbidden"},
		{"no token", "", csvType, "", 401, "unauthenticated"},
		{"json body", e.token("admin"), "application/json", "", 415, "unsupported_media_type"},
		{"gzip body", e.token("admin"), csvType, "gzip", 415, "unsupported_media_type"},
	} {
		r := e.do("POST", "/v1/areas/import", tc.token, []byte(villages), "Content-Type", tc.ctype, "Content-Encoding", tc.encoding)
		if r.Status != tc.wantStatus || r.ErrorCode() != tc.wantCode {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.Status, r.ErrorCode(), tc.wantStatus, tc.wantCode)
		}
	}
}

func TestImportUsersEndpointMultipartXLSX(t *testing.T) {
	e := newTestEnv(t)
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	for i, row := range [][]any{
		{"Số điện thoại", "Họ và tên", "Vai trò", "Tổ", "Giới tính"},
		{912001001, "Nguyễn Thị Hoa", "Thành viên", e.teamA1.ID, "Nữ"},
		{"0912001002", "Lê Văn Nam", "Thành viên", "Tổ A2", "Nam"},
	} {
		if err := f.SetSheetRow(sheet, "A"+strconv.Itoa(i+1), &row); err != nil {
			t.Fatal(err)
		}
	}
	var file bytes.Buffer
	if err := f.Write(&file); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("file", "to-a.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	part.Write(file.Bytes())
	mw.Close()

	r := e.do("POST", "/v1/users/import", e.token("coordA"), body.Bytes(), "Content-Type", mw.FormDataContentType())
	if r.Status != 200 {
		t.Fatalf("status %d, body %s", r.Status, r.Body)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	var got userImportJSON
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"member": 2}, got.Created); diff != "" || len(got.Passwords) != 2 {
		t.Fatalf("created (-want +got):\n%s\npasswords %+v", diff, got.Passwords)
	}
	u, err := e.store.Authenticate(context.Background(), "0912001001", got.Passwords[0].Password)
	if err != nil || u.TeamID != e.teamA1.ID {
		t.Errorf("login with the issued password: %v %+v", err, u)
	}

	// coordB may not add to team A1: the whole file is refused.
	csv := "phone,name,team\n0912001003,Phạm Văn Ba," + strconv.FormatInt(e.teamB1.ID, 10) + "\n0912001004,Đỗ Thị Tư," + strconv.FormatInt(e.teamA1.ID, 10) + "\n"
	r = e.do("POST", "/v1/users/import", e.token("coordB"), []byte(csv), "Content-Type", csvType, "Accept-Language", "en")
	if diff := cmp.Diff([]importRowJSON{{3, "team", "outside your area"}}, importRows(t, r)); r.Status != 422 || diff != "" {
		t.Errorf("coordB: status %d (-want +got):\n%s", r.Status, diff)
	}
	if _, err := e.store.Authenticate(context.Background(), "0912001003", "x"); err == nil {
		t.Errorf("a row of a refused file was imported")
	}

	r = e.do("POST", "/v1/users/import", e.token("coordA"), []byte("--x--"), "Content-Type", "multipart/form-data; boundary=x")
	if r.Status != 422 || r.ErrorCode() != "validation_failed" {
		t.Errorf("multipart without a file: %d %s, want 422 validation_failed", r.Status, r.ErrorCode())
	}
}

type userImportJSON struct {
	Rows      int            `json:"rows"`
	Created   map[string]int `json:"created"`
	Passwords []struct {
		Row      int    `json:"row"`
		Phone    string `json:"phone"`
		Password string `json:"password"`
	} `json:"passwords"`
}

// TestBodyLimits: the import routes accept more than the 1 MiB every
// other route allows (over a real connection: app.Test fails before any
// handler runs when a body is too large).
func TestBodyLimits(t *testing.T) {
	e := newTestEnv(t)
	base := e.listen()
	post := func(path, ctype string, body []byte) response {
		t.Helper()
		req, err := http.NewRequest("POST", base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Authorization", "Bearer "+e.token("admin"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{Status: resp.StatusCode, Body: b}
	}
	var b strings.Builder
	b.WriteString("province_code,province_name,commune_code,commune_name,village_name\n")
	for i := 0; b.Len() < 3<<20; i++ {
		// Bad codes: the file is read whole but refused fast.
		b.WriteString("99,Tỉnh Thử,bad,Xã A,Thôn số " + strconv.Itoa(i) + " " + strings.Repeat("y", 100) + "\n")
	}
	if r := post("/v1/areas/import", csvType, []byte(b.String())); r.Status != 422 || r.ErrorCode() != "import_failed" {
		t.Errorf("3 MiB import: %d %s, want it read and refused: 422 import_failed", r.Status, r.ErrorCode())
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	part, err := mw.CreateFormFile("file", "xa.csv")
	if err != nil {
		t.Fatal(err)
	}
	part.Write([]byte(b.String()))
	mw.Close()
	if r := post("/v1/areas/import", mw.FormDataContentType(), form.Bytes()); r.Status != 422 || r.ErrorCode() != "import_failed" {
		t.Errorf("3 MiB multipart import: %d %s, want it read and refused: 422 import_failed", r.Status, r.ErrorCode())
	}

	// Oversized bodies are refused from the announced length, before they
	// are sent (sending them would race the server closing the connection).
	announce := func(path string, length int) response {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\nx",
			path, e.token("admin"), csvType, length)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{Status: resp.StatusCode, Body: b}
	}
	if r := announce("/v1/teams", 3<<20); r.Status != 413 || r.ErrorCode() != "too_large" {
		t.Errorf("3 MiB team: %d %s, want 413 too_large", r.Status, r.ErrorCode())
	}
	if r := announce("/v1/users/import", 17<<20); r.Status != 413 || r.ErrorCode() != "too_large" {
		t.Errorf("17 MiB import: %d %s, want 413 too_large", r.Status, r.ErrorCode())
	}
}
