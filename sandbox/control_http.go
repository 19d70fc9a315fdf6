package sandbox

import (
	"encoding/json"
	"net/http"
)

// controlRoutes are the loopback-only control endpoints beside
// /_admin/faults (docs/PROTOCOL.md "Sandbox control").
func (s *Server) controlRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /_admin/actions", s.ctlAddAction)
	m.HandleFunc("POST /_admin/actions/malformed", s.ctlAddMalformed)
	m.HandleFunc("POST /_admin/key-updates/approve", s.ctlApproveAll)
	m.HandleFunc("POST /_admin/key-updates/{id}/approve", s.ctlKeyUpdate(true))
	m.HandleFunc("POST /_admin/key-updates/{id}/reject", s.ctlKeyUpdate(false))
}

// decodeControl reads a control body strictly into v.
func (s *Server) decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	if !loopbackOnly(w, r) {
		return false
	}
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		s.fail(w, http.StatusBadRequest, "bad control body: "+err.Error())
		return false
	}
	return true
}

// ctlAddAction: POST /_admin/actions with a CustomAction → {"id"}.
func (s *Server) ctlAddAction(w http.ResponseWriter, r *http.Request) {
	var c CustomAction
	if !s.decodeControl(w, r, &c) {
		return
	}
	id, err := s.AddCustomAction(c)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.writeJSON(w, r, map[string]string{"id": id})
}

// ctlAddMalformed: POST /_admin/actions/malformed {"kind"} → {"id"}.
func (s *Server) ctlAddMalformed(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Kind MalformedKind `json:"kind"`
	}
	if !s.decodeControl(w, r, &body) {
		return
	}
	id, err := s.AddMalformedAction(body.Kind)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.writeJSON(w, r, map[string]string{"id": id})
}

// ctlApproveAll: POST /_admin/key-updates/approve → {"approved":[ids]}.
func (s *Server) ctlApproveAll(w http.ResponseWriter, r *http.Request) {
	if loopbackOnly(w, r) {
		s.writeJSON(w, r, map[string][]string{"approved": append([]string{}, s.ApproveKeyUpdates()...)})
	}
}

// ctlKeyUpdate: POST /_admin/key-updates/{id}/approve|reject → 204.
func (s *Server) ctlKeyUpdate(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !loopbackOnly(w, r) {
			return
		}
		if err := s.adminDecide(r.PathValue("id"), approve); err != nil {
			s.fail(w, http.StatusNotFound, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
