//go:build desktop && !(linux && !(webkit2_40 || webkit2_41))

package app

// legacyWebKit: see webkit_legacy.go. Requests from the page reach the
// handler whole on this build.
const legacyWebKit = false
