package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/concorde-civic/concorde/plugins/sdk"
)

func (s *service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/projects", s.apiProjects)
	mux.HandleFunc("POST /api/projects", s.apiCreateProject)
	mux.HandleFunc("GET /api/projects/{id}", s.apiProject)
	mux.HandleFunc("POST /api/projects/{id}/open", s.apiOpen)
	mux.HandleFunc("POST /api/projects/{id}/close", s.apiClose)
	mux.HandleFunc("GET /api/projects/{id}/ledger", s.apiProjectLedger)
	mux.HandleFunc("POST /api/projects/{id}/pledges", s.apiPledge)
	mux.HandleFunc("POST /api/projects/{id}/disbursements", s.apiDisburse)
	mux.HandleFunc("DELETE /api/pledges/{id}", s.apiCancel)
	mux.HandleFunc("POST /api/pledges/{id}/confirm", s.apiConfirm)
	mux.HandleFunc("GET /api/my/pledges", s.apiMyPledges)
	mux.HandleFunc("GET /api/funds", s.apiFunds)
	mux.HandleFunc("POST /api/funds", s.apiCreateFund)
	mux.HandleFunc("GET /api/funds/{id}", s.apiFund)
	mux.HandleFunc("POST /api/funds/{id}/projects", s.apiAttach)
	mux.HandleFunc("GET /api/ledger.csv", s.apiLedgerCSV)
	mux.HandleFunc("GET /api/ledger/verify", s.apiVerify)
	s.pageRoutes(mux)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if sdk.KindOf(err) == sdk.Internal {
		sdk.Log(r.Context()).Error("request failed", "error", err.Error())
	}
	sdk.WriteError(w, err)
}

// decodeJSON reads a JSON body of at most 64 KiB into v, refusing unknown fields.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return bad("body", "the body must be a JSON object of the right shape: %v", err)
	}
	if dec.More() {
		return bad("body", "the body must hold one JSON object")
	}
	return nil
}

func (s *service) apiProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := s.projects(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": ps})
}

func (s *service) apiCreateProject(w http.ResponseWriter, r *http.Request) {
	var in projectInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := s.createProject(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

func (s *service) apiProject(w http.ResponseWriter, r *http.Request) {
	p, err := s.loadProject(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *service) apiOpen(w http.ResponseWriter, r *http.Request) {
	p, err := s.openProject(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *service) apiClose(w http.ResponseWriter, r *http.Request) {
	p, err := s.closeProject(r.Context(), r.PathValue("id"), true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *service) apiPledge(w http.ResponseWriter, r *http.Request) {
	var in pledgeInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	p, replayed, err := s.pledge(r.Context(), r.PathValue("id"), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK // the same pledge, made before with this key
	}
	writeJSON(w, status, p)
}

func (s *service) apiCancel(w http.ResponseWriter, r *http.Request) {
	p, err := s.cancel(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *service) apiConfirm(w http.ResponseWriter, r *http.Request) {
	p, err := s.confirm(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *service) apiDisburse(w http.ResponseWriter, r *http.Request) {
	var in disbursementInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	e, err := s.disburse(r.Context(), r.PathValue("id"), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, e)
}

func (s *service) apiMyPledges(w http.ResponseWriter, r *http.Request) {
	ps, err := s.myPledges(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"pledges": ps})
}

func (s *service) apiFunds(w http.ResponseWriter, r *http.Request) {
	fs, err := s.funds(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"funds": fs})
}

func (s *service) apiCreateFund(w http.ResponseWriter, r *http.Request) {
	var in fundInput
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	f, err := s.createFund(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, f)
}

// fundView is a fund with, for a quadratic fund, what each project's CLR share is now.
type fundView struct {
	Fund
	Estimates map[string]int64 `json:"quadratic_estimates_cents,omitempty"`
}

func (s *service) fundView(r *http.Request) (fundView, error) {
	f, err := s.loadFund(r.Context(), r.PathValue("id"))
	if err != nil {
		return fundView{}, err
	}
	v := fundView{Fund: f}
	if f.Rule.Kind == ruleQuadratic {
		if v.Estimates, err = s.clrShares(r.Context(), f); err != nil {
			return v, err
		}
	}
	return v, nil
}

func (s *service) apiFund(w http.ResponseWriter, r *http.Request) {
	v, err := s.fundView(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *service) apiAttach(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ProjectID string `json:"project_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	f, err := s.attach(r.Context(), r.PathValue("id"), in.ProjectID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// publicEntry is a ledger entry as the public reads it: "anonyme" for backers who did not
// give a public name.
type publicEntry struct {
	LedgerEntry
	Backer string `json:"backer,omitempty"`
}

const anonymous = "anonyme"

func public(e LedgerEntry) publicEntry {
	p := publicEntry{LedgerEntry: e, Backer: e.Backer}
	if p.Backer == "" && e.Pledge != "" && (e.Kind == movePledge || e.Kind == moveCancel || e.Kind == moveRelease || e.Kind == moveConfirm) {
		p.Backer = anonymous
	}
	return p
}

func (s *service) projectLedger(r *http.Request) (Project, []publicEntry, error) {
	ctx := r.Context()
	p, err := s.loadProject(ctx, r.PathValue("id"))
	if err != nil {
		return p, nil, err
	}
	all, _, _, err := readLedger(ctx)
	if err != nil {
		return p, nil, err
	}
	out := []publicEntry{}
	for _, e := range all {
		if e.Project == p.ID {
			out = append(out, public(e))
		}
	}
	return p, out, nil
}

func (s *service) apiProjectLedger(w http.ResponseWriter, r *http.Request) {
	_, es, err := s.projectLedger(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": es})
}

// apiLedgerCSV is the whole ledger with its hashes, for auditors to recompute the chain:
// the hash of an entry is the SHA-256 of its JSON (GET /projects/{id}/ledger shows it) with
// "hash" empty.
func (s *service) apiLedgerCSV(w http.ResponseWriter, r *http.Request) {
	all, _, _, err := readLedger(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	_ = cw.Write([]string{"seq", "at", "kind", "project", "pledge", "fund", "amount_cents", "backer", "purpose", "prev", "hash"})
	for _, e := range all {
		_ = cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), e.Kind, e.Project, e.Pledge, e.Fund,
			strconv.FormatInt(e.AmountCents, 10), csvSafe(public(e).Backer), csvSafe(e.Purpose), e.Prev, e.Hash})
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="ledger.csv"`)
	_, _ = w.Write(b.Bytes())
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}

func (s *service) apiVerify(w http.ResponseWriter, r *http.Request) {
	all, h, found, err := readLedger(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, verify(all, h, found))
}
