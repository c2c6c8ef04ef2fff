package web

import (
	"errors"
	"io"
	"net/http"
	"path"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/config"
)

// maxProjectBody bounds an uploaded project file (100,000 tags take about
// 10 MB of YAML).
const maxProjectBody = 32 << 20

func (s *Server) project(w http.ResponseWriter, r *http.Request) {
	p, err := s.api.Project(s.principal(r))
	s.answer(w, r, p, err)
}

func (s *Server) projectVersions(w http.ResponseWriter, r *http.Request) {
	v, err := s.api.ProjectVersions(s.principal(r))
	if v == nil && err == nil {
		v = []api.ProjectVersion{}
	}
	s.answer(w, r, v, err)
}

// loadProject takes the project file as the body (YAML, any content type);
// ?file= names it in errors (default "project.yaml").
func (s *Server) loadProject(w http.ResponseWriter, r *http.Request) {
	who := s.principal(r)
	if _, err := s.api.ProjectVersions(who); api.CodeOf(err) == api.CodeUnauthenticated || api.CodeOf(err) == api.CodeForbidden {
		s.fail(w, r, err) // refuse before reading a large body
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxProjectBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "the project file is larger than 32 MiB")
		return
	}
	file := path.Base(r.URL.Query().Get("file"))
	if file == "." || file == "/" {
		file = "project.yaml"
	}
	res, err := s.api.LoadProject(r.Context(), who, file, data)
	s.projectAnswer(w, r, res, err)
}

func (s *Server) restoreProject(w http.ResponseWriter, r *http.Request) {
	var body struct{}
	if err := decodeOptional(w, r, &body); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.api.RestoreProjectVersion(r.Context(), s.principal(r), r.PathValue("id"))
	s.projectAnswer(w, r, res, err)
}

// projectAnswer answers a load: a bad file is 400 with every problem as
// FILE:LINE:COL: message in "errors".
func (s *Server) projectAnswer(w http.ResponseWriter, r *http.Request, res api.ReloadResult, err error) {
	var ce config.Errors
	if errors.As(err, &ce) {
		list := make([]string, len(ce))
		for i, e := range ce {
			list[i] = e.Error()
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "errors": list})
		return
	}
	s.answer(w, r, res, err)
}
