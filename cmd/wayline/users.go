package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/wayline/wayline/runtime/meta"
	"github.com/wayline/wayline/runtime/store"
	"github.com/wayline/wayline/runtime/users"
)

const usersUsage = `Usage: wayline users COMMAND [USERNAME] [flags]

Commands:
  add USERNAME --role ROLE [--password-stdin]   create a designer user (admin, editor or viewer)
  passwd USERNAME [--password-stdin]            set a new password (ends the user's sessions)
  list                                          list the users
  delete USERNAME                               delete a user and end their sessions

Without --password-stdin a random password is generated and printed once.

They talk to a running node (--url, WAYLINE_URL, default http://127.0.0.1:8080, and --key,
WAYLINE_KEY, an admin API key), or with --data DIR work on a stopped node's data directory
directly (to create the first admin before the first start, or to recover access).
`

func usersCmd(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usersUsage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		fmt.Print(usersUsage)
		return 0
	case "add", "passwd", "list", "ls", "delete", "rm":
	default:
		fmt.Fprintf(os.Stderr, "wayline users: unknown command %q\n\n%s", cmd, usersUsage)
		return 2
	}
	var name string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("users "+cmd, flag.ContinueOnError)
	role := fs.String("role", "", "the role: admin, editor or viewer")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	data := fs.String("data", "", "work on this data directory directly (the node must be stopped)")
	nodeURL := fs.String("url", "http://127.0.0.1:8080", "node URL (WAYLINE_URL)")
	key := fs.String("key", "", "an admin API key (WAYLINE_KEY)")
	if code := parseFlags(fs, "users "+cmd, rest, "url", "key"); code >= 0 {
		return code
	}
	needName := cmd != "list" && cmd != "ls"
	if needName && name == "" {
		fmt.Fprintf(os.Stderr, "wayline users %s: give the username first, like: wayline users %s ada@example.com\n", cmd, cmd)
		return 2
	}
	var password string
	generated := false
	if cmd == "add" || cmd == "passwd" {
		if *pwStdin {
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && !errors.Is(err, io.EOF) {
				fmt.Fprintln(os.Stderr, "wayline users: reading the password from stdin:", err)
				return 1
			}
			password = strings.TrimRight(line, "\r\n")
		} else {
			password, generated = users.NewPassword(), true
		}
	}
	var b usersBackend
	if *data != "" {
		lb, err := openLocalUsers(*data)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wayline users:", err)
			return 1
		}
		defer lb.close()
		b = lb
	} else {
		c, err := newNodeClient(*nodeURL, *key)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wayline users:", err)
			return 2
		}
		b = remoteUsers{c}
	}
	var err error
	switch cmd {
	case "add":
		err = b.add(name, *role, password)
	case "passwd":
		err = b.passwd(name, password)
	case "delete", "rm":
		err = b.remove(name)
	default:
		var list []users.View
		if list, err = b.list(); err == nil {
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USERNAME\tROLE\tCREATED")
			for _, u := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Username, u.Role, u.CreatedAt.Format("2006-01-02 15:04"))
			}
			tw.Flush()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "wayline users %s: %v\n", cmd, err)
		return 1
	}
	switch {
	case generated:
		fmt.Printf("user %s  password %s\n(shown once; only an argon2id hash is stored)\n", users.NormalizeUsername(name), password)
	case cmd == "add":
		fmt.Printf("user %s created\n", users.NormalizeUsername(name))
	case cmd == "passwd":
		fmt.Printf("password of %s changed\n", name)
	case cmd == "delete" || cmd == "rm":
		fmt.Printf("user %s deleted\n", name)
	}
	return 0
}

type usersBackend interface {
	add(name, role, password string) error
	passwd(name, password string) error
	remove(name string) error
	list() ([]users.View, error)
}

type localUsers struct {
	st *store.Store
	s  *users.Store
}

func openLocalUsers(dir string) (*localUsers, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("--data %s: %v", dir, err)
	}
	st, err := store.Open(store.Config{Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w (is a node running on it? stop it, or use --url and --key)", dir, err)
	}
	s, err := users.New(meta.New(st), users.DefaultConfig())
	if err != nil {
		st.Close()
		return nil, err
	}
	return &localUsers{st: st, s: s}, nil
}

func (l *localUsers) close() { l.st.Close() }
func (l *localUsers) add(name, role, pw string) error {
	_, err := l.s.Create(name, role, pw)
	return err
}
func (l *localUsers) passwd(name, pw string) error {
	_, err := l.s.Update(users.NormalizeUsername(name), "", pw)
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("no user %q", name)
	}
	return err
}
func (l *localUsers) remove(name string) error {
	err := l.s.Delete(users.NormalizeUsername(name))
	if errors.Is(err, meta.ErrNotFound) {
		return fmt.Errorf("no user %q", name)
	}
	return err
}
func (l *localUsers) list() ([]users.View, error) { return l.s.List(), nil }

type remoteUsers struct{ c *nodeClient }

func (r remoteUsers) call(method, path string, body any, want int) ([]byte, error) {
	var rd io.Reader
	ct := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd, ct = bytes.NewReader(b), "application/json"
	}
	status, out, err := r.c.do(method, path, ct, rd)
	if err != nil {
		return nil, err
	}
	if status != want {
		return nil, errors.New(describeAPIError(status, out))
	}
	return out, nil
}

func (r remoteUsers) add(name, role, pw string) error {
	_, err := r.call("POST", "/v1/users", map[string]string{"username": name, "role": role, "password": pw}, 201)
	return err
}
func (r remoteUsers) passwd(name, pw string) error {
	_, err := r.call("PUT", "/v1/users/"+users.NormalizeUsername(name), map[string]string{"password": pw}, 200)
	return err
}
func (r remoteUsers) remove(name string) error {
	_, err := r.call("DELETE", "/v1/users/"+users.NormalizeUsername(name), nil, 204)
	return err
}
func (r remoteUsers) list() ([]users.View, error) {
	b, err := r.call("GET", "/v1/users?limit=1000", nil, 200)
	if err != nil {
		return nil, err
	}
	var page struct{ Items []users.View }
	return page.Items, json.Unmarshal(b, &page)
}
