package otelconf

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// maxManifest bounds how much of META-INF/MANIFEST.MF is read. The agent's manifest is about
// 1 KiB; anything near this size is not an agent manifest.
const maxManifest = 1 << 20

// manifest holds the main-section attributes of a jar manifest that identify the agent. The
// agent jar carries Implementation-Version (set from the project version by the build's
// otel.java-conventions plugin, and printed by OpenTelemetryAgent.main through
// Package.getImplementationVersion) and Premain-Class io.opentelemetry.javaagent.OpenTelemetryAgent.
type manifest struct {
	version string // Implementation-Version
	premain string // Premain-Class
	// agentClass is true when the jar holds the upstream agent's entry class, as every
	// distribution that wraps it does.
	agentClass bool
}

// upstreamAgentClass is the upstream agent's Premain-Class, and its class file in the jar.
const (
	upstreamAgentClass     = "io.opentelemetry.javaagent.OpenTelemetryAgent"
	upstreamAgentClassFile = "io/opentelemetry/javaagent/OpenTelemetryAgent.class"
)

// distributionAgents are the Premain-Class of distributions that start the upstream agent
// from their own class: Splunk's (signalfx/splunk-otel-java, agent/build.gradle.kts) and
// Elastic's EDOT Java (elastic/elastic-otel-java, agent/build.gradle.kts). Grafana's
// distribution keeps the upstream class (grafana/grafana-opentelemetry-java, agent/build.gradle).
var distributionAgents = []string{
	"com.splunk.opentelemetry.javaagent.SplunkAgent",
	"co.elastic.otel.agent.ElasticAgent",
}

// isOTel reports whether the jar is the OpenTelemetry agent or a distribution of it: its
// Premain-Class is the upstream agent's (or another class of its package), a known
// distribution's, or any class in a jar that also holds the upstream agent's entry class.
func (m manifest) isOTel() bool {
	return strings.HasPrefix(m.premain, "io.opentelemetry.javaagent.") || m.agentClass || slices.Contains(distributionAgents, m.premain)
}

// upstream reports whether the jar starts as the upstream agent does, so that its
// Implementation-Version is the upstream version that decides the defaults. A distribution's
// own Premain-Class comes with its own version numbers (Splunk's read
// "splunk-2.x-otel-2.y") and its own defaults.
func (m manifest) upstream() bool {
	return strings.HasPrefix(m.premain, "io.opentelemetry.javaagent.")
}

// errNoReaderAt means the opened file cannot be read at random offsets, so the jar is not read:
// the alternative, reading a 25 MB jar into memory, is not worth a version number.
var errNoReaderAt = errors.New("file does not support random access")

// readManifest reads META-INF/MANIFEST.MF from the jar at path through open. It reads the zip
// central directory and the one entry, never the whole jar.
func readManifest(open func(string) (fs.File, error), path string) (manifest, error) {
	f, err := open(path)
	if err != nil {
		return manifest{}, err
	}
	defer f.Close()
	ra, ok := f.(io.ReaderAt)
	if !ok {
		return manifest{}, errNoReaderAt
	}
	st, err := f.Stat()
	if err != nil {
		return manifest{}, err
	}
	zr, err := zip.NewReader(ra, st.Size())
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return manifest{}, fmt.Errorf("reading jar: %w", err)
	}
	var mf *zip.File
	var m manifest
	for _, zf := range zr.File {
		switch {
		case zf.Name == upstreamAgentClassFile:
			m.agentClass = true
		case mf == nil && strings.EqualFold(zf.Name, "META-INF/MANIFEST.MF"):
			mf = zf
		}
	}
	if mf == nil {
		return manifest{}, errors.New("no META-INF/MANIFEST.MF in the jar")
	}
	rc, err := mf.Open()
	if err != nil {
		return manifest{}, fmt.Errorf("reading manifest: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	rc.Close()
	if err != nil {
		return manifest{}, fmt.Errorf("reading manifest: %w", err)
	}
	attrs := parseManifest(data)
	m.version, m.premain = attrs["implementation-version"], attrs["premain-class"]
	return m, nil
}

// parseManifest returns the main section of a jar manifest, names lower-cased: "Name: value"
// lines, a line starting with one space continuing the previous value, the section ending at
// the first empty line. Lines end with CR LF, LF or CR.
func parseManifest(data []byte) map[string]string {
	attrs := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxManifest)
	sc.Split(scanManifestLines)
	last := ""
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if strings.HasPrefix(line, " ") {
			if last != "" {
				attrs[last] += line[1:]
			}
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			last = ""
			continue
		}
		last = strings.ToLower(name)
		attrs[last] = value
	}
	return attrs
}

// scanManifestLines is a bufio.SplitFunc for CR LF, LF and lone CR line ends.
func scanManifestLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		if atEOF {
			return i + 1, data[:i], nil
		}
		return 0, nil, nil // a CR at the end of the buffer: wait for a possible LF
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// agentVersion is a parsed Implementation-Version: the leading major.minor numbers.
type agentVersion struct {
	major, minor int
}

// parseAgentVersion reads the leading "major.minor" of an Implementation-Version such as
// "2.10.0" or "1.33.6-alpha". ok is false when it does not start with a number.
func parseAgentVersion(s string) (v agentVersion, ok bool) {
	majorText, rest, _ := strings.Cut(s, ".")
	major, err := strconv.Atoi(majorText)
	if err != nil || major < 0 {
		return agentVersion{}, false
	}
	minorText := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorText = rest[:i]
	}
	minor, _ := strconv.Atoi(minorText)
	return agentVersion{major, minor}, true
}
