package e2e

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// exampleImages maps the image names the examples run to the Dockerfile that builds them,
// so that a container that doesn't set its command runs the image's ENTRYPOINT and CMD, and
// a volume mounted over a file of the image is caught.
var exampleImages = map[string]string{
	// The release image (README: "Install").
	"ghcr.io/otelwait/otelwait": "Dockerfile",
	// Dockerfile.java's own comment: docker build -f Dockerfile.java -t registry.example.com/checkout:1.4.2
	"registry.example.com/checkout": "examples/docker/Dockerfile.java",
}

// otelwaitImage is the repository of otelwait's own image.
const otelwaitImage = "ghcr.io/otelwait/otelwait"

// imageInfo is what an example image's Dockerfile says about the image it builds.
type imageInfo struct {
	dockerfile string
	entrypoint []string // exec form only; nil if unset
	cmd        []string
	user       string
	// files are the absolute paths the final stage writes (COPY and ADD destinations);
	// for an image FROM scratch, the only files it has.
	files []string
}

// imageRepo strips the tag and digest from an image reference.
func imageRepo(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// parsedDockerfile is a Dockerfile read by BuildKit's parser.
type parsedDockerfile struct {
	name   string
	stages []instructions.Stage
}

// parseDockerfile parses data as BuildKit does; parser warnings and the build checks that
// run while parsing (linter rules) are problems too.
func parseDockerfile(name string, data []byte) (*parsedDockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var warnings []string
	for _, w := range res.Warnings {
		warnings = append(warnings, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		warnings = append(warnings, fmt.Sprintf("line %d: %s: %s", line, rule, msg))
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(warnings) > 0 {
		return nil, fmt.Errorf("%s: BuildKit warns: %s", name, strings.Join(warnings, "; "))
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", name)
	}
	return &parsedDockerfile{name: name, stages: stages}, nil
}

// stage returns the stage named name (stage names are case-insensitive), or nil.
func (d *parsedDockerfile) stage(name string) *instructions.Stage {
	for i := range d.stages {
		if strings.EqualFold(d.stages[i].Name, name) {
			return &d.stages[i]
		}
	}
	return nil
}

// image works out the image the final stage builds. Settings inherited from an external
// base image are unknown; those inherited from an earlier stage are followed.
func (d *parsedDockerfile) image() *imageInfo {
	img := &imageInfo{dockerfile: d.name}
	var chain []*instructions.Stage
	for st := &d.stages[len(d.stages)-1]; st != nil && len(chain) < len(d.stages); st = d.stage(st.BaseName) {
		chain = append([]*instructions.Stage{st}, chain...)
	}
	for _, st := range chain {
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.EntrypointCommand:
				img.entrypoint, img.cmd = nil, nil // ENTRYPOINT resets an inherited CMD
				if !c.PrependShell {
					img.entrypoint = c.CmdLine
				}
			case *instructions.CmdCommand:
				img.cmd = nil
				if !c.PrependShell {
					img.cmd = c.CmdLine
				}
			case *instructions.UserCommand:
				img.user = c.User
			case *instructions.CopyCommand:
				img.files = append(img.files, copyDests(c.DestPath, c.SourcePaths)...)
			case *instructions.AddCommand:
				img.files = append(img.files, copyDests(c.DestPath, c.SourcePaths)...)
			}
		}
	}
	return img
}

// copyDests returns the files a COPY or ADD writes, as far as its text tells.
func copyDests(dest string, srcs []string) []string {
	if !strings.HasSuffix(dest, "/") && len(srcs) == 1 {
		return []string{path.Clean(dest)}
	}
	var out []string
	for _, s := range srcs {
		out = append(out, path.Join(dest, path.Base(s)))
	}
	return out
}

// finalCommands returns the commands of type T in the final stage.
func finalCommands[T instructions.Command](d *parsedDockerfile) []T {
	var out []T
	for _, c := range d.stages[len(d.stages)-1].Commands {
		if c, ok := c.(T); ok {
			out = append(out, c)
		}
	}
	return out
}

// isRootUser reports whether USER's value runs as root: no user, 0 or root (the group
// doesn't matter).
func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "" || name == "0" || name == "root"
}

// checkDockerfiles parses the root Dockerfile (otelwait's image) and every example
// Dockerfile (an app image with otelwait in front of its command).
func checkDockerfiles(s exampleSet) (map[string]*imageInfo, findings, []error) {
	var p problems
	var f findings
	parsed := map[string]*parsedDockerfile{}
	for _, name := range append([]string{"Dockerfile"}, s.match("examples/*/Dockerfile*")...) {
		d, err := parseDockerfile(name, s[name])
		if err != nil {
			p = append(p, err)
			continue
		}
		parsed[name] = d
	}
	images := map[string]*imageInfo{}
	for repo, name := range exampleImages {
		if d := parsed[name]; d != nil {
			images[repo] = d.image()
		}
	}
	if d := parsed["Dockerfile"]; d != nil {
		checkImageDockerfile(&p, d)
	}
	for _, name := range s.match("examples/*/Dockerfile*") {
		if d := parsed[name]; d != nil {
			f.add(checkAppDockerfile(&p, d, images[otelwaitImage]))
		}
	}
	return images, f, p
}

// checkImageDockerfile checks otelwait's own image: a static binary FROM scratch, run as a
// non-root user, cross-compiled on the build machine's platform.
func checkImageDockerfile(p *problems, d *parsedDockerfile) {
	final := d.stages[len(d.stages)-1]
	if final.BaseName != "scratch" {
		p.addf("%s: the final stage is FROM %q, want FROM scratch (one static binary, nothing else)", d.name, final.BaseName)
	}
	img := d.image()
	eps := finalCommands[*instructions.EntrypointCommand](d)
	switch {
	case len(eps) == 0:
		p.addf("%s: the final stage has no ENTRYPOINT", d.name)
	case eps[len(eps)-1].PrependShell:
		p.addf("%s: ENTRYPOINT is in shell form; want the exec form [\"/otelwait\"] (the image has no shell)", d.name)
	case !slices.Equal(img.entrypoint, []string{"/otelwait"}):
		p.addf("%s: ENTRYPOINT %q, want [\"/otelwait\"]", d.name, img.entrypoint)
	}
	users := finalCommands[*instructions.UserCommand](d)
	if len(users) == 0 {
		p.addf("%s: no USER in the final stage: the image would run as root", d.name)
	} else if u := users[len(users)-1].User; isRootUser(u) {
		p.addf("%s: USER %q runs as root; want a numeric non-root user such as 65532:65532", d.name, u)
	}
	if len(img.entrypoint) > 0 && !slices.Contains(img.files, img.entrypoint[0]) {
		p.addf("%s: ENTRYPOINT %q is not a file the final stage copies in (FROM scratch has nothing else)", d.name, img.entrypoint[0])
	}
	if !slices.Contains(img.files, "/etc/ssl/certs/ca-certificates.crt") {
		p.addf("%s: the final stage copies no /etc/ssl/certs/ca-certificates.crt: https and grpcs targets could not be verified", d.name)
	}
	// The binary comes from a build stage that cross-compiles.
	var binCopy *instructions.CopyCommand
	for _, c := range finalCommands[*instructions.CopyCommand](d) {
		if len(img.entrypoint) > 0 && slices.Contains(copyDests(c.DestPath, c.SourcePaths), img.entrypoint[0]) {
			binCopy = c
		}
	}
	if binCopy == nil || binCopy.From == "" {
		p.addf("%s: the ENTRYPOINT binary is not copied --from a build stage", d.name)
		return
	}
	build := d.stage(binCopy.From)
	if build == nil {
		p.addf("%s: COPY --from=%s: no such stage", d.name, binCopy.From)
		return
	}
	if build.Platform != "$BUILDPLATFORM" && build.Platform != "${BUILDPLATFORM}" {
		p.addf("%s: the build stage %q is FROM --platform=%q, want --platform=$BUILDPLATFORM: otherwise a multi-platform build compiles under emulation", d.name, build.Name, build.Platform)
	}
	checkCrossCompile(p, d.name, build, binCopy.SourcePaths[0])
}

// checkCrossCompile checks that stage declares TARGETOS and TARGETARCH, then runs
// `CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build … -o out`.
func checkCrossCompile(p *problems, name string, st *instructions.Stage, out string) {
	declared := map[string]bool{}
	env := map[string]string{}
	found := false
	for _, c := range st.Commands {
		switch c := c.(type) {
		case *instructions.ArgCommand:
			for _, a := range c.Args {
				declared[a.Key] = true
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				env[kv.Key] = kv.Value
			}
		case *instructions.RunCommand:
			if len(c.CmdLine) == 0 || !c.PrependShell {
				continue
			}
			for _, call := range shellCalls(strings.Join(c.CmdLine, " ")) {
				if len(call.args) < 2 || call.args[0] != "go" || call.args[1] != "build" || !slices.Contains(outputs(call.args), out) {
					continue
				}
				found = true
				vars := map[string]string{}
				for k, v := range env {
					vars[k] = v
				}
				for k, v := range call.assigns {
					vars[k] = v
				}
				for _, w := range []struct{ name, want, arg string }{
					{"CGO_ENABLED", "0", ""},
					{"GOOS", "$TARGETOS", "TARGETOS"},
					{"GOARCH", "$TARGETARCH", "TARGETARCH"},
				} {
					if vars[w.name] != w.want {
						p.addf("%s: the go build that makes %s runs without %s=%s (have %q): the binary must be static and built for the target platform", name, out, w.name, w.want, vars[w.name])
					}
					if w.arg != "" && !declared[w.arg] {
						p.addf("%s: the build stage does not declare ARG %s before its go build: it would be empty", name, w.arg)
					}
				}
			}
		}
	}
	if !found {
		p.addf("%s: the build stage %q has no RUN go build … -o %s", name, st.Name, out)
	}
}

// outputs returns the values of go build's -o flag.
func outputs(args []string) []string {
	var out []string
	for i, a := range args {
		if (a == "-o" || a == "--o") && i+1 < len(args) {
			out = append(out, args[i+1])
		} else if v, ok := strings.CutPrefix(a, "-o="); ok {
			out = append(out, v)
		}
	}
	return out
}

// shellCall is one simple command of a shell script: its assignments (as written, quotes
// removed, variables kept as $NAME) and its words.
type shellCall struct {
	assigns map[string]string
	args    []string
}

// shellCalls returns the simple commands of a RUN line (nil if it doesn't parse). Words are
// expanded with every variable standing for itself, so GOOS=${TARGETOS} reads $TARGETOS.
func shellCalls(script string) []shellCall {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(script), "")
	if err != nil {
		return nil
	}
	cfg := &expand.Config{Env: selfEnviron{}}
	var calls []shellCall
	syntax.Walk(f, func(n syntax.Node) bool {
		ce, ok := n.(*syntax.CallExpr)
		if !ok {
			return true
		}
		c := shellCall{assigns: map[string]string{}}
		for _, a := range ce.Assigns {
			v := ""
			if a.Value != nil {
				v, _ = expand.Literal(cfg, a.Value)
			}
			c.assigns[a.Name.Value] = v
		}
		c.args, _ = expand.Fields(cfg, ce.Args...)
		calls = append(calls, c)
		return true
	})
	return calls
}

// selfEnviron expands every variable to "$NAME".
type selfEnviron struct{}

func (selfEnviron) Get(name string) expand.Variable {
	return expand.Variable{Set: true, Kind: expand.String, Str: "$" + name}
}

func (selfEnviron) Each(func(string, expand.Variable) bool) {}

// checkAppDockerfile checks an image that puts otelwait in front of its command, and
// returns that command line.
func checkAppDockerfile(p *problems, d *parsedDockerfile, otelwaitImg *imageInfo) findings {
	img := d.image()
	eps := finalCommands[*instructions.EntrypointCommand](d)
	cmds := finalCommands[*instructions.CmdCommand](d)
	switch {
	case len(eps) == 0:
		p.addf("%s: the final stage has no ENTRYPOINT", d.name)
		return findings{}
	case eps[len(eps)-1].PrependShell:
		p.addf("%s: ENTRYPOINT is in shell form; want the exec form [\"/otelwait\", \"--\"]: in shell form the shell is PID 1 and CMD is ignored", d.name)
		return findings{}
	}
	ep := img.entrypoint
	if path.Base(ep[0]) != "otelwait" {
		p.addf("%s: ENTRYPOINT %q does not start with otelwait", d.name, ep)
		return findings{}
	}
	if ep[len(ep)-1] != "--" {
		p.addf("%s: ENTRYPOINT %q should end with \"--\", so that any CMD is the command, never otelwait's options", d.name, ep)
	}
	if len(cmds) > 0 && cmds[len(cmds)-1].PrependShell {
		p.addf("%s: CMD is in shell form: otelwait would exec /bin/sh -c, not the app; use the exec form", d.name)
	}
	if u := img.user; u != "" && isRootUser(u) {
		p.addf("%s: USER %q runs as root", d.name, u)
	}
	// The binary the ENTRYPOINT names is copied from otelwait's image.
	copied := false
	for _, c := range finalCommands[*instructions.CopyCommand](d) {
		if !slices.Contains(copyDests(c.DestPath, c.SourcePaths), ep[0]) {
			continue
		}
		from := c.From
		if st := d.stage(from); st != nil {
			from = st.BaseName
		}
		switch {
		case imageRepo(from) != otelwaitImage:
			p.addf("%s: %s is copied --from=%s, not from otelwait's image %s", d.name, ep[0], c.From, otelwaitImage)
		case len(c.SourcePaths) != 1 || otelwaitImg == nil || !slices.Contains(otelwaitImg.files, c.SourcePaths[0]):
			p.addf("%s: COPY --from=%s %q: otelwait's image (Dockerfile) has no such file", d.name, c.From, c.SourcePaths)
		default:
			copied = true
		}
	}
	if !copied {
		p.addf("%s: ENTRYPOINT runs %q, but no COPY --from=%s puts it there", d.name, ep[0], otelwaitImage)
	}
	return findings{lines: []otelwaitLine{{
		file:  d.name,
		where: d.name + ": ENTRYPOINT + CMD",
		argv:  append(slices.Clone(ep), img.cmd...),
	}}}
}

var otelwaitTag = regexp.MustCompile(regexp.QuoteMeta(otelwaitImage) + `:([^\s"'@]+)`)

// checkImageTags: every example uses the same release of otelwait's image.
func checkImageTags(s exampleSet) []error {
	tags := map[string][]string{}
	for _, name := range s.match("examples/*/*") {
		for _, m := range otelwaitTag.FindAllStringSubmatch(string(s[name]), -1) {
			if !slices.Contains(tags[m[1]], name) {
				tags[m[1]] = append(tags[m[1]], name)
			}
		}
	}
	if len(tags) > 1 {
		return []error{fmt.Errorf("the examples use several releases of %s: %v", otelwaitImage, tags)}
	}
	return nil
}
