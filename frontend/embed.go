// Package frontend embeds the built web frontend (frontend/dist, made by
// `npm run build`) into the Go binary.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the built frontend, with index.html at its root. In a tree where
// the frontend was never built it holds only a placeholder, and the server
// says how to build it.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is a constant, valid path
	}
	return sub
}
