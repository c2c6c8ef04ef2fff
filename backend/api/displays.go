package api

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgehmi/edgehmi/backend/config"
	"github.com/edgehmi/edgehmi/backend/hmi"
)

// Displays finds, saves and versions a project's display files.
//
// A display named "overview" is read from the file the project lists
// (displays/overview.yaml beside the project file), or, for a display made
// in the editor, from displays/<name>.yaml beside the project file. Saving
// writes that file; the file it replaces is kept under
// DATA/displays/<name>/<id>.yaml. A project with no folder on disk (the
// embedded demo) is read-only: its displays are saved into
// DATA/displays/<name>.yaml, which is read in preference to the embedded
// copy.
type Displays struct {
	project *config.Project
	files   fs.FS  // the project's folder, read-only
	dir     string // the project's folder on disk; "" when embedded
	data    string // the data directory
	mu      sync.Mutex
}

// NewDisplays returns the displays of project p. files is the project's
// folder (nil: the folder of p.File on disk); data the data directory.
func NewDisplays(p *config.Project, files fs.FS, data string) *Displays {
	d := &Displays{project: p, files: files, data: data}
	if files == nil {
		d.dir = filepath.Dir(p.File)
		d.files = os.DirFS(d.dir)
	}
	return d
}

// SetDisplays gives the service the project's displays (nil: none).
func (s *Service) SetDisplays(d *Displays) { s.displays = d }

// DisplayInfo is one entry of the display list.
type DisplayInfo struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Level string `json:"level"`
	// File is where the display is read from (relative to the project's
	// folder, or data/... for a saved copy of an embedded display).
	File string `json:"file"`
	// Project: the project file lists it (else it is a file of the
	// project's displays folder, made in the editor).
	Project bool `json:"project"`
	// Error says why the display does not load, if it does not.
	Error string `json:"error,omitempty"`
}

// DisplayDoc is a display with where it comes from.
type DisplayDoc struct {
	Name    string          `json:"name"`
	File    string          `json:"file"`
	Hash    string          `json:"hash"`
	Display *config.Display `json:"display"`
}

// DisplayVersion is a kept earlier version of a display.
type DisplayVersion struct {
	ID   string `json:"id"`
	TS   int64  `json:"ts"` // Unix ms: when it was replaced
	Hash string `json:"hash"`
	Size int64  `json:"size"`
}

func (s *Service) displaysOrErr(who Principal, need hmi.Role, what string) (*Displays, error) {
	if err := require(who, need, what); err != nil {
		return nil, err
	}
	if s.displays == nil {
		return nil, errorf(CodeNotFound, nil, "this project has no displays")
	}
	return s.displays, nil
}

// where a display is kept: the file written on save (disk) and, for
// an embedded project, the file in the project's folder (rel).
func (d *Displays) where(name string) (disk, rel string) {
	rel = "displays/" + name + ".yaml"
	for _, f := range d.project.Displays {
		if config.DisplayName(f) == name {
			rel = path.Clean(f)
		}
	}
	if d.dir == "" {
		return filepath.Join(d.data, "displays", name+".yaml"), rel
	}
	return filepath.Join(d.dir, filepath.FromSlash(rel)), rel
}

// read returns a display's file, the name it is shown by, and whether it
// exists.
func (d *Displays) read(name string) ([]byte, string, error) {
	disk, rel := d.where(name)
	if data, err := os.ReadFile(disk); err == nil {
		if d.dir == "" {
			return data, filepath.ToSlash(disk), nil
		}
		return data, rel, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	if d.dir == "" {
		if data, err := fs.ReadFile(d.files, rel); err == nil {
			return data, rel, nil
		}
	}
	return nil, "", fs.ErrNotExist
}

// names lists the displays: the project's, in its order, then those made
// in the editor, by name.
func (d *Displays) names() []string {
	var out []string
	for _, f := range d.project.Displays {
		out = append(out, config.DisplayName(f))
	}
	dir := filepath.Join(d.dir, "displays")
	if d.dir == "" {
		dir = filepath.Join(d.data, "displays")
	}
	entries, _ := os.ReadDir(dir)
	var extra []string
	for _, e := range entries {
		n, ok := strings.CutSuffix(e.Name(), ".yaml")
		if ok && !e.IsDir() && config.ValidDisplayName(n) && !slices.Contains(out, n) {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	return append(out, extra...)
}

func (d *Displays) load(name string) (DisplayDoc, error) {
	if !config.ValidDisplayName(name) {
		return DisplayDoc{}, errorf(CodeNotFound, nil, "there is no display %q", name)
	}
	data, file, err := d.read(name)
	if errors.Is(err, fs.ErrNotExist) {
		return DisplayDoc{}, errorf(CodeNotFound, err, "there is no display %q", name)
	} else if err != nil {
		return DisplayDoc{}, errorf(CodeInternal, err, "display %q: %v", name, err)
	}
	disp, err := config.ParseDisplay(file, data, d.project, d.names())
	if err != nil {
		return DisplayDoc{}, errorf(CodeConflict, err, "display %q does not load:\n%v", name, err)
	}
	return DisplayDoc{Name: name, File: file, Hash: config.Hash(data), Display: disp}, nil
}

// Displays lists the project's displays (any logged-in user).
func (s *Service) Displays(who Principal) ([]DisplayInfo, error) {
	d, err := s.displaysOrErr(who, hmi.RoleViewer, "list the displays")
	if err != nil {
		return nil, err
	}
	out := []DisplayInfo{}
	for _, n := range d.names() {
		info := DisplayInfo{Name: n, Project: slices.ContainsFunc(d.project.Displays, func(f string) bool { return config.DisplayName(f) == n })}
		doc, err := d.load(n)
		if err != nil {
			info.Error = err.Error()
		} else {
			info.Title, info.Level, info.File = doc.Display.Title, doc.Display.Level, doc.File
		}
		out = append(out, info)
	}
	return out, nil
}

// Display returns one display (any logged-in user).
func (s *Service) Display(who Principal, name string) (DisplayDoc, error) {
	d, err := s.displaysOrErr(who, hmi.RoleViewer, "open a display")
	if err != nil {
		return DisplayDoc{}, err
	}
	return d.load(name)
}

// SaveDisplay validates and saves a display (engineer role), keeping the
// file it replaces as a version; audited with the new file's hash.
func (s *Service) SaveDisplay(ctx context.Context, who Principal, name string, disp *config.Display, reason string) (DisplayDoc, error) {
	ev := hmi.Event{Kind: hmi.EventAudit, Source: "display:" + name, User: who.User, Address: who.Address, Action: "display.save", Reason: reason}
	doc, err := s.saveDisplay(who, name, disp, &ev)
	s.audit(ev, err)
	return doc, err
}

func (s *Service) saveDisplay(who Principal, name string, disp *config.Display, ev *hmi.Event) (DisplayDoc, error) {
	d, err := s.displaysOrErr(who, hmi.RoleEngineer, "save a display")
	if err != nil {
		return DisplayDoc{}, err
	}
	if !config.ValidDisplayName(name) {
		return DisplayDoc{}, errorf(CodeInvalid, nil, "%q cannot name a display: use lower-case letters, digits, _ and - (at most 64)", name)
	}
	if disp == nil {
		return DisplayDoc{}, errorf(CodeInvalid, nil, "send the display")
	}
	known := d.names()
	if !slices.Contains(known, name) {
		known = append(known, name)
	}
	if err := config.ValidateDisplay(name, disp, d.project, known); err != nil {
		return DisplayDoc{}, errorf(CodeInvalid, err, "display %q is not valid:\n%v", name, err)
	}
	data, err := disp.Marshal()
	if err != nil {
		return DisplayDoc{}, errorf(CodeInternal, err, "display %q: %v", name, err)
	}
	return d.write(name, data, ev)
}

// write replaces a display's file with data (already validated), keeping
// the old one as a version.
func (d *Displays) write(name string, data []byte, ev *hmi.Event) (DisplayDoc, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	hash := config.Hash(data)
	ev.New = hash
	disk, _ := d.where(name)
	if old, _, err := d.read(name); err == nil {
		ev.Old = config.Hash(old)
		if ev.Old != hash {
			if err := d.keep(name, old); err != nil {
				return DisplayDoc{}, errorf(CodeInternal, err, "display %q: cannot keep the previous version: %v", name, err)
			}
		}
	}
	if err := writeFileAtomic(disk, data); err != nil {
		return DisplayDoc{}, errorf(CodeInternal, err, "display %q: cannot save: %v", name, err)
	}
	ev.Detail = strings.TrimSpace(ev.Detail + " file " + disk + " sha256 " + hash)
	return d.load(name)
}

// versionDir is where a display's earlier versions are kept.
func (d *Displays) versionDir(name string) string {
	return filepath.Join(d.data, "displays", name)
}

// versionID is a version's name: the time it was replaced, sortable.
const versionIDLayout = "20060102T150405.000000000Z"

func (d *Displays) keep(name string, old []byte) error {
	dir := d.versionDir(name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	id := time.Now().UTC().Format(versionIDLayout)
	return writeFileAtomic(filepath.Join(dir, id+".yaml"), old)
}

func writeFileAtomic(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".display-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// DisplayVersions lists a display's kept versions, newest first (engineer role).
func (s *Service) DisplayVersions(who Principal, name string) ([]DisplayVersion, error) {
	d, err := s.displaysOrErr(who, hmi.RoleEngineer, "list display versions")
	if err != nil {
		return nil, err
	}
	if !config.ValidDisplayName(name) {
		return nil, errorf(CodeNotFound, nil, "there is no display %q", name)
	}
	entries, err := os.ReadDir(d.versionDir(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, errorf(CodeInternal, err, "display %q: %v", name, err)
	}
	out := []DisplayVersion{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".yaml")
		ts, perr := time.Parse(versionIDLayout, id)
		if !ok || perr != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(d.versionDir(name), e.Name()))
		if err != nil {
			continue
		}
		out = append(out, DisplayVersion{ID: id, TS: ts.UnixMilli(), Hash: config.Hash(data), Size: int64(len(data))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out, nil
}

// RestoreDisplay makes a kept version the display again (engineer role):
// validated against the running project first, the current file kept as
// a version, audited.
func (s *Service) RestoreDisplay(ctx context.Context, who Principal, name, id, reason string) (DisplayDoc, error) {
	ev := hmi.Event{Kind: hmi.EventAudit, Source: "display:" + name, User: who.User, Address: who.Address, Action: "display.restore", Reason: reason}
	doc, err := s.restoreDisplay(who, name, id, &ev)
	s.audit(ev, err)
	return doc, err
}

func (s *Service) restoreDisplay(who Principal, name, id string, ev *hmi.Event) (DisplayDoc, error) {
	d, err := s.displaysOrErr(who, hmi.RoleEngineer, "restore a display")
	if err != nil {
		return DisplayDoc{}, err
	}
	if !config.ValidDisplayName(name) {
		return DisplayDoc{}, errorf(CodeNotFound, nil, "there is no display %q", name)
	}
	if _, err := time.Parse(versionIDLayout, id); err != nil {
		return DisplayDoc{}, errorf(CodeNotFound, nil, "display %q has no version %q", name, id)
	}
	file := filepath.Join(d.versionDir(name), id+".yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		return DisplayDoc{}, errorf(CodeNotFound, err, "display %q has no version %q", name, id)
	}
	if _, err := config.ParseDisplay(fmt.Sprintf("version %s of %s", id, name), data, d.project, append(d.names(), name)); err != nil {
		return DisplayDoc{}, errorf(CodeInvalid, err, "version %s of display %q does not fit the running project:\n%v", id, name, err)
	}
	ev.Detail = "version " + id
	return d.write(name, data, ev)
}
