package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// ProjectVersion is one project file edgehmi has run or been given: the
// running one, or a kept earlier version.
type ProjectVersion struct {
	ID     string `json:"id"`   // e.g. "20261125T171300.123Z-3f2a9c0b1d4e"
	Name   string `json:"name"` // the project's name
	Hash   string `json:"hash"` // SHA-256 of the file, hex
	File   string `json:"file"` // the name it was loaded under
	Loaded int64  `json:"loaded"`
	Size   int64  `json:"size"`
	// Current marks the version running now.
	Current bool `json:"current,omitempty"`
}

// ProjectFile is the running project: its version and its text.
type ProjectFile struct {
	ProjectVersion
	YAML string `json:"yaml"`
}

// ReloadResult says what a project load did.
type ReloadResult struct {
	ProjectVersion
	Kept    []string `json:"kept"`    // devices whose pollers ran on untouched
	Started []string `json:"started"` // devices added or changed: (re)started
	Stopped []string `json:"stopped"` // devices removed or changed: stopped
	Tags    int      `json:"tags"`    // tags in the new project
	// AlarmsKept counts the alarms defined as before, which kept their
	// states (acknowledged, shelved...); the others start normal.
	AlarmsKept int     `json:"alarms_kept"`
	ReloadMS   float64 `json:"reload_ms"` // from a valid file to the new project running
	Unchanged  bool    `json:"unchanged,omitempty"`
}

// Projects loads project files into the running engine. The engine
// implements it; a bad file (config.Errors) changes nothing.
type Projects interface {
	Current() (ProjectFile, error)
	Load(ctx context.Context, file string, data []byte) (ReloadResult, error)
	Versions() ([]ProjectVersion, error)
	Restore(ctx context.Context, id string) (ReloadResult, error)
}

// ErrNoVersion is returned by Projects.Restore for an unknown version.
var ErrNoVersion = errors.New("no such project version")

// SetProjects lets engineers load projects (nil: they cannot).
func (s *Service) SetProjects(p Projects) { s.projects = p }

func (s *Service) projectsOrErr(who Principal, what string) (Projects, error) {
	if err := require(who, hmi.RoleEngineer, what); err != nil {
		return nil, err
	}
	if s.projects == nil {
		return nil, errorf(CodeConflict, nil, "this edgehmi cannot load projects")
	}
	return s.projects, nil
}

// Project answers the running project file (engineer role).
func (s *Service) Project(who Principal) (ProjectFile, error) {
	p, err := s.projectsOrErr(who, "read the project file")
	if err != nil {
		return ProjectFile{}, err
	}
	return p.Current()
}

// ProjectVersions lists the kept project versions, newest first.
func (s *Service) ProjectVersions(who Principal) ([]ProjectVersion, error) {
	p, err := s.projectsOrErr(who, "list project versions")
	if err != nil {
		return nil, err
	}
	return p.Versions()
}

// LoadProject validates a project file and, if it is good, applies it to
// the running engine. A bad file changes nothing: the error is an *Error
// with CodeInvalid wrapping config.Errors. Audited either way.
func (s *Service) LoadProject(ctx context.Context, who Principal, file string, data []byte) (ReloadResult, error) {
	p, err := s.projectsOrErr(who, "load a project")
	if err != nil {
		return ReloadResult{}, err
	}
	res, err := p.Load(ctx, file, data)
	s.auditProject("project.load", file, who, res, err)
	return res, projectError(file, err)
}

// RestoreProjectVersion loads a kept version again.
func (s *Service) RestoreProjectVersion(ctx context.Context, who Principal, id string) (ReloadResult, error) {
	p, err := s.projectsOrErr(who, "restore a project version")
	if err != nil {
		return ReloadResult{}, err
	}
	res, err := p.Restore(ctx, id)
	s.auditProject("project.restore", id, who, res, err)
	return res, projectError(id, err)
}

func (s *Service) auditProject(action, object string, who Principal, res ReloadResult, err error) {
	ev := hmi.Event{Kind: hmi.EventAudit, Source: object, User: who.User, Address: who.Address, Action: action, New: res.Hash}
	if err == nil {
		ev.Detail = fmt.Sprintf("project %q, sha256 %s: %d devices kept, %d started, %d stopped, %d tags, %d alarms kept their states, %.0f ms",
			res.Name, res.Hash, len(res.Kept), len(res.Started), len(res.Stopped), res.Tags, res.AlarmsKept, res.ReloadMS)
	}
	var ce config.Errors
	if errors.As(err, &ce) {
		ev.Detail = ce.Error()
		s.audit(ev, fmt.Errorf("invalid project: %d errors", len(ce)))
		return
	}
	s.audit(ev, err)
}

func projectError(object string, err error) error {
	var ce config.Errors
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		n := fmt.Sprintf("%d errors", len(ce))
		if len(ce) == 1 {
			n = "an error"
		}
		return errorf(CodeInvalid, ce, "the project file has %s; nothing was changed", n)
	case errors.Is(err, ErrNoVersion):
		return errorf(CodeNotFound, err, "no project version %q", object)
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	return errorf(CodeInternal, err, "loading the project failed: %v", err)
}
