//go:build !desktop

package main

import (
	"context"
	"fmt"
	"io"
)

const desktopUsage = ""

// desktop exists only in desktop builds (-tags desktop,production).
func desktop(_ context.Context, _ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "edgehmi: this build has no desktop window; build it with `make desktop`")
	return 2
}
