package engine

import (
	"io/fs"
	"testing/fstest"

	"github.com/edgehmi/edgehmi/backend/api"
	"github.com/edgehmi/edgehmi/backend/config"
)

// displays are project p's display files: for the demo, read from the
// embedded folder (DemoFiles) and saved into the data directory; otherwise
// read and saved beside the project file.
func (o Options) displays(p *config.Project) *api.Displays {
	var files fs.FS
	if o.Demo {
		files = o.DemoFiles
		if files == nil {
			files = fstest.MapFS{}
		}
	}
	return api.NewDisplays(p, files, o.DataDir)
}
