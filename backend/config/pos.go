package config

// positions maps a field path such as "devices[1].port" to where it stands
// in the file.
type positions map[string]pos

type pos struct{ line, col int }
