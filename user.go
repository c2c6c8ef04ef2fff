package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/edgehmi/edgehmi/backend/auth"
	"github.com/edgehmi/edgehmi/backend/hmi"
	"github.com/edgehmi/edgehmi/backend/store"
)

const userUsage = `usage:
  edgehmi user add NAME --role ROLE [--data DIR]   create a user; the password is read from stdin
  edgehmi user passwd NAME [--data DIR]            set a new password, read from stdin
  edgehmi user disable NAME [--data DIR]           stop a user logging in (ends their sessions)
  edgehmi user enable NAME [--data DIR]
  edgehmi user list [--data DIR]
roles: viewer, operator, engineer, admin
`

// userCmd manages the users in a data directory. It works beside a running
// server (SQLite WAL); every change is audited.
func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return 2
	}
	verb, rest := args[0], args[1:]
	var name string
	if verb != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintf(stderr, "edgehmi user %s: give the user's name\n\n%s", verb, userUsage)
			return 2
		}
		name, rest = rest[0], rest[1:]
	}
	fs := newFlags("user "+verb, stderr)
	data := fs.String("data", "./data", "directory of the SQLite files")
	roleName := fs.String("role", "", "viewer, operator, engineer or admin (add)")
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "edgehmi user %s: unexpected %q\n", verb, fs.Arg(0))
		return 2
	}
	st, err := store.Open(ctx, *data, nil)
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi user:", err)
		return 1
	}
	defer st.Close()
	au := auth.New(st, auth.Options{})
	ev := hmi.Event{Kind: hmi.EventAudit, Source: "user:" + name, User: "cli:" + osUser(), Address: "local", Action: "user." + verb, Result: "ok"}

	switch verb {
	case "list":
		return listUsers(ctx, st, stdout, stderr)
	case "add":
		role, err := hmi.ParseRole(*roleName)
		if err != nil {
			fmt.Fprintln(stderr, "edgehmi user add: --role:", err)
			return 2
		}
		pw, err := readPassword(stdin)
		if err == nil {
			err = au.AddUser(ctx, name, role, pw)
		}
		ev.New = role.String()
		return finish(ctx, st, ev, err, fmt.Sprintf("user %q added with role %s", name, role), stdout, stderr)
	case "passwd":
		pw, err := readPassword(stdin)
		if err == nil {
			err = au.SetPassword(ctx, name, pw)
		}
		return finish(ctx, st, ev, err, fmt.Sprintf("password of %q changed", name), stdout, stderr)
	case "disable", "enable":
		err := au.SetDisabled(ctx, name, verb == "disable")
		ev.New = verb + "d"
		return finish(ctx, st, ev, err, fmt.Sprintf("user %q %sd", name, verb), stdout, stderr)
	default:
		fmt.Fprintf(stderr, "edgehmi user: unknown command %q\n\n%s", verb, userUsage)
		return 2
	}
}

// finish audits the change (failed ones too) and reports it.
func finish(ctx context.Context, st *store.Store, ev hmi.Event, err error, ok string, stdout, stderr io.Writer) int {
	if err != nil {
		ev.Result = err.Error()
	}
	if aerr := st.Append(ctx, ev); aerr != nil {
		fmt.Fprintln(stderr, "edgehmi user: audit:", aerr)
		return 1
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("%w (see `edgehmi user list`)", err)
		}
		fmt.Fprintln(stderr, "edgehmi user:", err)
		return 1
	}
	fmt.Fprintln(stdout, ok)
	return 0
}

func listUsers(ctx context.Context, st *store.Store, stdout, stderr io.Writer) int {
	us, err := st.Users(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "edgehmi user list:", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATE\tCREATED")
	for _, u := range us {
		state := "enabled"
		if u.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, state, u.Created.UTC().Format("2006-01-02 15:04"))
	}
	tw.Flush()
	if len(us) == 0 {
		fmt.Fprintln(stderr, "no users: create an admin with `edgehmi user add NAME --role admin`")
	}
	return 0
}

// readPassword reads one line from stdin (a pipe or the terminal).
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on stdin (e.g. `echo 'secret' | edgehmi user add ...`)")
	}
	return pw, nil
}

func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprint(os.Getuid())
}
