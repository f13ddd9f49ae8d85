package otelconf

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// agentJar builds a jar whose manifest looks like the OpenTelemetry agent's.
func agentJar(t testing.TB, version string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("META-INF/MANIFEST.MF")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "Manifest-Version: 1.0\r\nImplementation-Title: javaagent\r\nImplementation-Version: %s\r\n"+
		"Premain-Class: io.opentelemetry.javaagent.OpenTelemetryAgent\r\nCan-Redefine-Classes: true\r\n\r\n", version)
	if w, err = zw.Create("io/opentelemetry/javaagent/OpenTelemetryAgent.class"); err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte{0xca, 0xfe}, 512))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// otherJar builds a jar with the given manifest attributes (Premain-Class and
// Implementation-Version, omitted when empty) that holds the upstream agent's entry class when
// agentClass is set.
func otherJar(t testing.TB, premain, version string, agentClass bool) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("META-INF/MANIFEST.MF")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "Manifest-Version: 1.0\r\n")
	if version != "" {
		fmt.Fprintf(w, "Implementation-Version: %s\r\n", version)
	}
	if premain != "" {
		fmt.Fprintf(w, "Premain-Class: %s\r\n", premain)
	}
	fmt.Fprintf(w, "\r\n")
	if agentClass {
		if _, err := zw.Create(upstreamAgentClassFile); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// openFiles serves files by absolute path from memory. fs.FS paths have no leading slash, so it
// strips it; invalid paths do not exist.
func openFiles(files map[string]string) func(string) (fs.File, error) {
	m := fstest.MapFS{}
	for name, data := range files {
		m[strings.TrimPrefix(name, "/")] = &fstest.MapFile{Data: []byte(data)}
	}
	return func(name string) (fs.File, error) {
		rel := strings.TrimPrefix(name, "/")
		if !fs.ValidPath(rel) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		return m.Open(rel)
	}
}

// summary renders a plan's destinations and skips, one line each.
func summary(p Plan) []string {
	var out []string
	for _, d := range p.Destinations {
		out = append(out, fmt.Sprintf("%s %s %s [%s]", d.Signal, d.Protocol.Value, d.Endpoint.Value, d.Endpoint.Source))
	}
	for _, s := range p.Skipped {
		out = append(out, fmt.Sprintf("%s skipped %s [%s]", s.Signal, s.Exporters.Value, s.Exporters.Source))
	}
	return out
}

// each returns one summary line per signal from a format taking the signal name twice at most.
func each(format string) []string {
	var out []string
	for _, s := range []string{"traces", "metrics", "logs"} {
		out = append(out, strings.ReplaceAll(format, "{s}", s))
	}
	return out
}

func checkMessage(t *testing.T, kind, msg string) {
	t.Helper()
	if msg == "" || strings.HasSuffix(msg, ".") || strings.ContainsAny(msg, "\n\r") {
		t.Errorf("%s %q: want one line without a trailing period", kind, msg)
	}
}

var (
	javaJar = []string{"java", "-javaagent:/otel.jar", "-jar", "app.jar"}
)

func TestResolve(t *testing.T) {
	jar1 := agentJar(t, "1.33.6")
	jar2 := agentJar(t, "2.10.0")
	jar214 := agentJar(t, "2.14.0")
	tests := []struct {
		name         string
		env          []string
		args         []string
		files        map[string]string
		want         []string
		wantDefaults string // prefix
		wantWarn     []string
	}{
		{
			name:         "nothing set, jar unreadable: agent 2.x defaults",
			args:         javaJar,
			want:         each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantDefaults: "agent 2.x (-javaagent jar /otel.jar not readable: ",
		},
		{
			name: "env generic endpoint gets v1/signal",
			env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318"},
			args: javaJar,
			want: each("{s} http/protobuf http://collector:4318/v1/{s} [env OTEL_EXPORTER_OTLP_ENDPOINT]"),
		},
		{
			name: "generic endpoint path with trailing slash",
			env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT=HTTPS://collector:4318/otlp/"},
			args: javaJar,
			want: each("{s} http/protobuf https://collector:4318/otlp/v1/{s} [env OTEL_EXPORTER_OTLP_ENDPOINT]"),
		},
		{
			name: "lower-case environment names count",
			env:  []string{"otel_exporter_otlp_endpoint=http://lower:4318"},
			args: javaJar,
			want: each("{s} http/protobuf http://lower:4318/v1/{s} [env otel_exporter_otlp_endpoint]"),
		},
		{
			name: "-D beats env",
			env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://env:4318"},
			args: []string{"/usr/bin/java", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "-javaagent:/otel.jar", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://cli:4318/v1/{s} [-D on the command line]"),
		},
		{
			name: "JAVA_TOOL_OPTIONS beats env",
			env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://env:4318", "JAVA_TOOL_OPTIONS=-javaagent:/otel.jar -Dotel.exporter.otlp.endpoint=http://jto:4318"},
			args: []string{"java", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://jto:4318/v1/{s} [JAVA_TOOL_OPTIONS]"),
		},
		{
			name: "command line beats JAVA_TOOL_OPTIONS",
			env:  []string{"JAVA_TOOL_OPTIONS=-Dotel.exporter.otlp.endpoint=http://jto:4318"},
			args: []string{"java", "-javaagent:/otel.jar", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://cli:4318/v1/{s} [-D on the command line]"),
		},
		{
			name: "JDK_JAVA_OPTIONS beats JAVA_TOOL_OPTIONS",
			env: []string{
				"JAVA_TOOL_OPTIONS=-Dotel.exporter.otlp.endpoint=http://jto:4318",
				"JDK_JAVA_OPTIONS=-Dotel.exporter.otlp.endpoint=http://jdk:4318",
			},
			args: javaJar,
			want: each("{s} http/protobuf http://jdk:4318/v1/{s} [JDK_JAVA_OPTIONS]"),
		},
		{
			name: "command line beats JDK_JAVA_OPTIONS",
			env:  []string{"JDK_JAVA_OPTIONS=-Dotel.exporter.otlp.endpoint=http://jdk:4318"},
			args: []string{"java", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "-javaagent:/otel.jar", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://cli:4318/v1/{s} [-D on the command line]"),
		},
		{
			name: "_JAVA_OPTIONS beats the command line",
			env:  []string{"_JAVA_OPTIONS=-Dotel.exporter.otlp.endpoint=http://jo:4318"},
			args: []string{"java", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "-javaagent:/otel.jar", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://jo:4318/v1/{s} [_JAVA_OPTIONS]"),
		},
		{
			name: "agent argument beats _JAVA_OPTIONS",
			env:  []string{"_JAVA_OPTIONS=-Dotel.exporter.otlp.endpoint=http://jo:4318"},
			args: []string{"java", "-javaagent:/otel.jar=otel.exporter.otlp.endpoint=http://arg:4318", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://arg:4318/v1/{s} [agent argument]"),
		},
		{
			name: "agent arguments split at the first = and trimmed",
			args: []string{"java", "-javaagent:/otel.jar= otel.exporter.otlp.protocol = grpc ;otel.exporter.otlp.headers=a=b;", "-jar", "app.jar"},
			want: each("{s} grpc http://localhost:4317 [default (agent 2.x)]"),
		},
		{
			name:  "agent arguments before 2.15 are ignored",
			args:  []string{"java", "-javaagent:/otel.jar=otel.exporter.otlp.endpoint=http://arg:4318", "-jar", "app.jar"},
			files: map[string]string{"/otel.jar": jar214},
			want:  each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x: /otel.jar says 2.14.0)]"),
			wantWarn: []string{
				"the arguments of -javaagent:/otel.jar (command line) are ignored: agent 2.14.0 reads them only since 2.15",
			},
		},
		{
			name: "env beats the properties file",
			env: []string{
				"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties",
				"OTEL_EXPORTER_OTLP_ENDPOINT=http://env:4318",
			},
			args:  javaJar,
			files: map[string]string{"/etc/otel.properties": "otel.exporter.otlp.endpoint=http://file:4318\n"},
			want:  each("{s} http/protobuf http://env:4318/v1/{s} [env OTEL_EXPORTER_OTLP_ENDPOINT]"),
		},
		{
			name:  "properties file beats defaults, named by -D",
			args:  []string{"java", "-javaagent:/otel.jar", "-Dotel.javaagent.configuration-file=/etc/otel.properties", "-jar", "app.jar"},
			files: map[string]string{"/etc/otel.properties": "otel.exporter.otlp.protocol=grpc\notel.exporter.otlp.endpoint=http://file:4317\n"},
			want:  each("{s} grpc http://file:4317 [file /etc/otel.properties]"),
		},
		{
			name: "properties file syntax: separators, comments, continuation, escapes",
			env:  []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"},
			args: javaJar,
			files: map[string]string{"/etc/otel.properties": "# comment\n! other comment\n" +
				"otel.exporter.otlp.protocol : grpc\r\n" +
				"otel.exporter.otlp.endpoint http://file\\u002dhost:\\\n    4317\n" +
				"otel.logs.exporter=none\n"},
			want: append(each("{s} grpc http://file-host:4317 [file /etc/otel.properties]")[:2],
				"logs skipped none [file /etc/otel.properties]"),
		},
		{
			name:  "properties file path with ~",
			env:   []string{"HOME=/home/app", "OTEL_JAVAAGENT_CONFIGURATION_FILE=~/otel.properties"},
			args:  javaJar,
			files: map[string]string{"/home/app/otel.properties": "otel.exporter.otlp.endpoint=http://home:4318"},
			want:  each("{s} http/protobuf http://home:4318/v1/{s} [file /home/app/otel.properties]"),
		},
		{
			name:  "per-signal key in the file beats a generic -D",
			env:   []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"},
			args:  []string{"java", "-javaagent:/otel.jar", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "-jar", "app.jar"},
			files: map[string]string{"/etc/otel.properties": "otel.exporter.otlp.traces.endpoint=http://file:4318/custom\n"},
			want: []string{
				"traces http/protobuf http://file:4318/custom [file /etc/otel.properties]",
				"metrics http/protobuf http://cli:4318/v1/metrics [-D on the command line]",
				"logs http/protobuf http://cli:4318/v1/logs [-D on the command line]",
			},
		},
		{
			name: "per-signal protocol from env beats a generic -D",
			env:  []string{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=grpc"},
			args: []string{"java", "-javaagent:/otel.jar", "-Dotel.exporter.otlp.protocol=http/protobuf", "-jar", "app.jar"},
			want: []string{
				"traces http/protobuf http://localhost:4318/v1/traces [default (agent 2.x)]",
				"metrics grpc http://localhost:4317 [default (agent 2.x)]",
				"logs http/protobuf http://localhost:4318/v1/logs [default (agent 2.x)]",
			},
		},
		{
			name: "per-signal endpoint used as is, empty path becomes /",
			env:  []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://c:4318", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http://c:4317"},
			args: javaJar,
			want: []string{
				"traces http/protobuf http://c:4318/ [env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT]",
				"metrics http/protobuf http://localhost:4318/v1/metrics [default (agent 2.x)]",
				"logs grpc http://c:4317/ [env OTEL_EXPORTER_OTLP_LOGS_ENDPOINT]",
			},
			wantWarn: []string{`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://c:4318" (env) is used as is, so traces go to path "/"`},
		},
		{
			name: "application arguments after -jar are ignored",
			args: []string{"java", "-javaagent:/otel.jar", "-jar", "app.jar", "-Dotel.exporter.otlp.endpoint=http://app:4318", "-javaagent:/other.jar"},
			want: each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantWarn: []string{
				`-Dotel.exporter.otlp.endpoint comes after "app.jar", so it is an application argument: the jvm does not see it`,
				`-javaagent:/other.jar comes after "app.jar", so it is an application argument: the jvm does not load it`,
			},
		},
		{
			name: "-jar does not end the options, its jar does",
			args: []string{"java", "-javaagent:/otel.jar", "-jar", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "app.jar"},
			want: each("{s} http/protobuf http://cli:4318/v1/{s} [-D on the command line]"),
		},
		{
			name: "-cp takes a value, the main class ends the options",
			args: []string{"java", "-javaagent:/otel.jar", "-cp", "/app/lib/*", "-Dotel.exporter.otlp.endpoint=http://cli:4318",
				"com.example.Main", "-Dotel.traces.exporter=none"},
			want: each("{s} http/protobuf http://cli:4318/v1/{s} [-D on the command line]"),
		},
		{
			name: "--add-opens takes a value",
			args: []string{"java", "--add-opens", "java.base/java.lang=ALL-UNNAMED", "-javaagent:/otel.jar",
				"--class-path=/app", "-Dotel.metrics.exporter=none", "com.example.Main"},
			want: []string{
				"traces http/protobuf http://localhost:4318/v1/traces [default (agent 2.x)]",
				"logs http/protobuf http://localhost:4318/v1/logs [default (agent 2.x)]",
				"metrics skipped none [-D on the command line]",
			},
		},
		{
			name: "-m ends the options",
			args: []string{"java", "-javaagent:/otel.jar", "-Dotel.metrics.exporter=none", "-m", "app/com.example.Main", "-Dotel.logs.exporter=none"},
			want: []string{
				"traces http/protobuf http://localhost:4318/v1/traces [default (agent 2.x)]",
				"logs http/protobuf http://localhost:4318/v1/logs [default (agent 2.x)]",
				"metrics skipped none [-D on the command line]",
			},
		},
		{
			name: "not java: the script's -D are not seen, JAVA_TOOL_OPTIONS is",
			env:  []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel.jar -Dotel.exporter.otlp.protocol=grpc"},
			args: []string{"sh", "-c", "exec java -Dotel.exporter.otlp.endpoint=http://x:4318 -jar app.jar"},
			want: each("{s} grpc http://localhost:4317 [default (agent 2.x)]"),
		},
		{
			name: "not java: JDK_JAVA_OPTIONS is inherited by the java the script runs",
			env:  []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel.jar", "JDK_JAVA_OPTIONS=-Dotel.exporter.otlp.endpoint=http://jdk:4318"},
			args: []string{"/app/bin/start"},
			want: each("{s} http/protobuf http://jdk:4318/v1/{s} [JDK_JAVA_OPTIONS]"),
		},
		{
			name: "quotes in JAVA_TOOL_OPTIONS",
			env:  []string{`JAVA_TOOL_OPTIONS=-javaagent:/otel.jar "-Dotel.traces.exporter=console, otlp" -Dotel.logs.exporter='none'`},
			args: []string{"java", "-jar", "app.jar"},
			want: []string{
				"traces http/protobuf http://localhost:4318/v1/traces [default (agent 2.x)]",
				"metrics http/protobuf http://localhost:4318/v1/metrics [default (agent 2.x)]",
				"logs skipped none [JAVA_TOOL_OPTIONS]",
			},
		},
		{
			name:         "agent 1.x jar: grpc, no logs",
			args:         javaJar,
			files:        map[string]string{"/otel.jar": jar1},
			want:         append(each("{s} grpc http://localhost:4317 [default (agent 1.x: /otel.jar says 1.33.6)]")[:2], "logs skipped none [default (agent 1.x: /otel.jar says 1.33.6)]"),
			wantDefaults: "agent 1.x (/otel.jar says 1.33.6)",
		},
		{
			name:         "agent 2.x jar",
			args:         javaJar,
			files:        map[string]string{"/otel.jar": jar2},
			want:         each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x: /otel.jar says 2.10.0)]"),
			wantDefaults: "agent 2.x (/otel.jar says 2.10.0)",
		},
		{
			name:         "agent injected by the operator in JAVA_TOOL_OPTIONS",
			env:          []string{"JAVA_TOOL_OPTIONS= -javaagent:/otel-auto-instrumentation-java/javaagent.jar"},
			args:         []string{"java", "-jar", "app.jar"},
			files:        map[string]string{"/otel-auto-instrumentation-java/javaagent.jar": jar1},
			want:         append(each("{s} grpc http://localhost:4317 [default (agent 1.x: /otel-auto-instrumentation-java/javaagent.jar says 1.33.6)]")[:2], "logs skipped none [default (agent 1.x: /otel-auto-instrumentation-java/javaagent.jar says 1.33.6)]"),
			wantDefaults: "agent 1.x",
		},
		{
			name:     "agent both in JAVA_TOOL_OPTIONS and on the command line: the first one counts",
			env:      []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel-auto-instrumentation-java/javaagent.jar"},
			args:     []string{"java", "-javaagent:/opt/opentelemetry-javaagent.jar=otel.exporter.otlp.endpoint=http://arg:4318", "-jar", "app.jar"},
			files:    map[string]string{"/otel-auto-instrumentation-java/javaagent.jar": jar2},
			want:     each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x: /otel-auto-instrumentation-java/javaagent.jar says 2.10.0)]"),
			wantWarn: []string{"both look like the opentelemetry agent"},
		},
		{
			name: "exporters other than otlp are skipped",
			env:  []string{"OTEL_TRACES_EXPORTER=console,otlp", "OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=console"},
			args: javaJar,
			want: []string{
				"traces http/protobuf http://localhost:4318/v1/traces [default (agent 2.x)]",
				"metrics skipped none [env OTEL_METRICS_EXPORTER]",
				"logs skipped console [env OTEL_LOGS_EXPORTER]",
			},
		},
		{
			name: "empty exporter list means the default",
			env:  []string{"OTEL_TRACES_EXPORTER= , "},
			args: javaJar,
			want: each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
		},
		{
			name:  "@argfile on the command line",
			args:  []string{"java", "@/app/jvm.args", "-jar", "app.jar"},
			files: map[string]string{"/app/jvm.args": "-javaagent:/otel.jar # the agent\n\"-Dotel.exporter.otlp.endpoint=http://argfile:4318\"\n"},
			want:  each("{s} http/protobuf http://argfile:4318/v1/{s} [argument file /app/jvm.args]"),
		},
		{
			name: "jib layout: classpath and main class in @argfiles",
			env:  []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel.jar"},
			args: []string{"java", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "-cp", "@/app/jib-classpath-file", "@/app/jib-main-class-file", "-Dotel.logs.exporter=none"},
			files: map[string]string{
				"/app/jib-classpath-file":  "/app/resources:/app/classes:/app/libs/*\n",
				"/app/jib-main-class-file": "com.example.Main\n",
			},
			want: each("{s} http/protobuf http://cli:4318/v1/{s} [-D on the command line]"),
		},
		{
			name: "--disable-@files",
			args: []string{"java", "-javaagent:/otel.jar", "--disable-@files", "@/app/jvm.args", "-Dotel.logs.exporter=none"},
			files: map[string]string{
				"/app/jvm.args": "-Dotel.traces.exporter=none\n",
			},
			want: each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
		},
		{
			name: "headers, timeout and tls files",
			env: []string{
				"OTEL_EXPORTER_OTLP_ENDPOINT=https://collector:4318",
				"OTEL_EXPORTER_OTLP_HEADERS=api-key=secret",
				"OTEL_EXPORTER_OTLP_CERTIFICATE=/certs/ca.pem",
				"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=/certs/client.pem",
				"OTEL_EXPORTER_OTLP_CLIENT_KEY=/certs/client.key",
				"OTEL_EXPORTER_OTLP_TIMEOUT=5s",
			},
			args:  javaJar,
			files: map[string]string{"/certs/ca.pem": "x", "/certs/client.pem": "x", "/certs/client.key": "x"},
			want:  each("{s} http/protobuf https://collector:4318/v1/{s} [env OTEL_EXPORTER_OTLP_ENDPOINT]"),
		},
		{
			name: "java through env: its options count",
			args: []string{"/usr/bin/env", "java", "-javaagent:/otel.jar", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://cli:4318/v1/{s} [-D on the command line]"),
		},
		{
			name: "env NAME=VALUE changes the environment the jvm sees",
			env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://outer:4318", "JAVA_TOOL_OPTIONS=-Dotel.exporter.otlp.protocol=grpc"},
			args: []string{"env", "OTEL_EXPORTER_OTLP_ENDPOINT=http://inner:4317", "JAVA_TOOL_OPTIONS=-javaagent:/otel.jar", "java", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://inner:4317/v1/{s} [env OTEL_EXPORTER_OTLP_ENDPOINT]"),
		},
		{
			name: "env -i drops the inherited environment, -u one variable",
			env:  []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://outer:4318", "JAVA_TOOL_OPTIONS=-Dotel.exporter.otlp.protocol=grpc"},
			args: []string{"env", "-u", "OTEL_EXPORTER_OTLP_ENDPOINT", "env", "-i", "JDK_JAVA_OPTIONS=-javaagent:/otel.jar", "java", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
		},
		{
			name: "env -- and - (empty environment)",
			env:  []string{"JAVA_TOOL_OPTIONS=-Dotel.exporter.otlp.protocol=grpc"},
			args: []string{"env", "--", "-", "OTEL_TRACES_EXPORTER=none", "java", "-javaagent:/otel.jar", "-jar", "app.jar"},
			want: []string{
				"metrics http/protobuf http://localhost:4318/v1/metrics [default (agent 2.x)]",
				"logs http/protobuf http://localhost:4318/v1/logs [default (agent 2.x)]",
				"traces skipped none [env OTEL_TRACES_EXPORTER]",
			},
		},
		{
			name: "env assignments reach a script too",
			args: []string{"env", "JAVA_TOOL_OPTIONS=-javaagent:/otel.jar -Dotel.exporter.otlp.endpoint=http://jto:4318", "/app/bin/start"},
			want: each("{s} http/protobuf http://jto:4318/v1/{s} [JAVA_TOOL_OPTIONS]"),
		},
		{
			name: "java through tini: its options and -- are skipped",
			args: []string{"/sbin/tini", "-sg", "-p", "SIGTERM", "-e143", "--", "java", "-javaagent:/otel.jar", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://cli:4318/v1/{s} [-D on the command line]"),
		},
		{
			name: "java through dumb-init and env",
			args: []string{"dumb-init", "--single-child", "--rewrite", "15:2", "-r", "1:0", "--rewrite=2:15", "env", "OTEL_EXPORTER_OTLP_ENDPOINT=http://inner:4318", "java", "-javaagent:/otel.jar", "-jar", "app.jar"},
			want: each("{s} http/protobuf http://inner:4318/v1/{s} [env OTEL_EXPORTER_OTLP_ENDPOINT]"),
		},
		{
			name:     "an init option not followed: opaque",
			env:      []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel.jar"},
			args:     []string{"tini", "-x", "--", "java", "-Dotel.exporter.otlp.endpoint=http://cli:4318", "-jar", "app.jar"},
			want:     each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantWarn: []string{`command "tini" is not java, and its arguments hold "-Dotel.exporter.otlp.endpoint"`},
		},
		{
			name:     "a shell through tini is opaque",
			env:      []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel.jar"},
			args:     []string{"tini", "--", "sh", "-c", "exec java -Dotel.exporter.otlp.endpoint=http://cli:4318 -jar app.jar"},
			want:     each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantWarn: []string{`command "sh" is not java, and its arguments hold "-Dotel.exporter.otlp.endpoint"`},
		},
		{
			name:     "env option not followed: opaque",
			env:      []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel.jar"},
			args:     []string{"env", "-S", "java -Dotel.exporter.otlp.endpoint=http://cli:4318 -jar app.jar"},
			want:     each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantWarn: []string{`command "env" is not java, and its arguments hold "-Dotel.exporter.otlp.endpoint"`},
		},
		{
			name:         "a non-opentelemetry agent does not decide the defaults",
			args:         []string{"java", "-javaagent:/jmx_prometheus_javaagent.jar=8080:/config.yaml", "-jar", "app.jar"},
			files:        map[string]string{"/jmx_prometheus_javaagent.jar": otherJar(t, "io.prometheus.jmx.shaded.io.prometheus.jmx.JavaAgent", "1.0.1", false)},
			want:         each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantDefaults: "agent 2.x (no -javaagent jar is the opentelemetry agent; assumed current)",
			wantWarn:     []string{`no -javaagent jar is the opentelemetry agent ("/jmx_prometheus_javaagent.jar" (command line) has Premain-Class "io.prometheus.jmx.shaded.io.prometheus.jmx.JavaAgent")`},
		},
		{
			name: "a non-opentelemetry agent named otel is not taken either",
			args: []string{"java", "-javaagent:/otel-like.jar=otel.exporter.otlp.endpoint=http://arg:4318", "-javaagent:/agent.jar", "-jar", "app.jar"},
			files: map[string]string{
				"/otel-like.jar": otherJar(t, "com.example.Agent", "1.0.1", false),
				"/agent.jar":     jar1,
			},
			want:         append(each("{s} grpc http://localhost:4317 [default (agent 1.x: /agent.jar says 1.33.6)]")[:2], "logs skipped none [default (agent 1.x: /agent.jar says 1.33.6)]"),
			wantDefaults: "agent 1.x (/agent.jar says 1.33.6)",
		},
		{
			name:         "distribution with its own Premain-Class wrapping the agent",
			args:         []string{"java", "-javaagent:/vendor.jar=otel.exporter.otlp.endpoint=http://arg:4318", "-jar", "app.jar"},
			files:        map[string]string{"/vendor.jar": otherJar(t, "com.example.VendorAgent", "1.2.0", true)},
			want:         each("{s} http/protobuf http://arg:4318/v1/{s} [agent argument]"),
			wantDefaults: "agent 2.x (/vendor.jar is a distribution of the agent (Premain-Class com.example.VendorAgent, version 1.2.0); assumed current)",
		},
		{
			name:         "splunk distribution",
			args:         []string{"java", "-javaagent:/opt/splunk-otel-javaagent.jar", "-jar", "app.jar"},
			files:        map[string]string{"/opt/splunk-otel-javaagent.jar": otherJar(t, "com.splunk.opentelemetry.javaagent.SplunkAgent", "splunk-2.10.0-otel-2.10.0", false)},
			want:         each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantDefaults: "agent 2.x (/opt/splunk-otel-javaagent.jar is a distribution",
		},
		{
			name:         "elastic distribution named by its Premain-Class, version not taken for the upstream one",
			args:         []string{"java", "-javaagent:/opt/edot.jar", "-jar", "app.jar"},
			files:        map[string]string{"/opt/edot.jar": otherJar(t, "co.elastic.otel.agent.ElasticAgent", "1.0.0", false)},
			want:         each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantDefaults: "agent 2.x (/opt/edot.jar is a distribution",
		},
		{
			name:         "agent 1.6 to 1.12: no metrics by default",
			args:         javaJar,
			files:        map[string]string{"/otel.jar": agentJar(t, "1.12.1")},
			want:         []string{"traces grpc http://localhost:4317 [default (agent 1.x: /otel.jar says 1.12.1)]", "metrics skipped none [default (agent 1.x: /otel.jar says 1.12.1)]", "logs skipped none [default (agent 1.x: /otel.jar says 1.12.1)]"},
			wantDefaults: "agent 1.x",
		},
		{
			name:  "agent 1.6: metrics exported when asked",
			env:   []string{"OTEL_METRICS_EXPORTER=otlp"},
			args:  javaJar,
			files: map[string]string{"/otel.jar": agentJar(t, "1.6.0")},
			want:  append(each("{s} grpc http://localhost:4317 [default (agent 1.x: /otel.jar says 1.6.0)]")[:2], "logs skipped none [default (agent 1.x: /otel.jar says 1.6.0)]"),
		},
		{
			name:  "agent 1.13 and 1.5: metrics by default",
			env:   []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel.jar"},
			args:  []string{"java", "-javaagent:/old.jar", "-jar", "app.jar"},
			files: map[string]string{"/otel.jar": agentJar(t, "1.13.0"), "/old.jar": agentJar(t, "1.5.3")},
			want:  append(each("{s} grpc http://localhost:4317 [default (agent 1.x: /otel.jar says 1.13.0)]")[:2], "logs skipped none [default (agent 1.x: /otel.jar says 1.13.0)]"),
		},
		{
			name:  "agent 1.5: metrics by default",
			args:  javaJar,
			files: map[string]string{"/otel.jar": agentJar(t, "1.5.3")},
			want:  append(each("{s} grpc http://localhost:4317 [default (agent 1.x: /otel.jar says 1.5.3)]")[:2], "logs skipped none [default (agent 1.x: /otel.jar says 1.5.3)]"),
		},
		{
			name:     "generic endpoint ending in //: the agent reads v1 as a host",
			env:      []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://x:4318//"},
			args:     javaJar,
			want:     []string{"traces http/protobuf http://v1/traces [env OTEL_EXPORTER_OTLP_ENDPOINT]", "metrics http/protobuf http://v1/metrics [env OTEL_EXPORTER_OTLP_ENDPOINT]", "logs http/protobuf http://v1/logs [env OTEL_EXPORTER_OTLP_ENDPOINT]"},
			wantWarn: []string{`OTEL_EXPORTER_OTLP_ENDPOINT="http://x:4318//" (env) has a path starting with "//": the agent appends "v1/traces" and reads "v1/traces" as a host name, so traces go to "http://v1/traces"`},
		},
		{
			name:     "generic endpoint path starting with //",
			env:      []string{"OTEL_EXPORTER_OTLP_ENDPOINT=https://u:s3cret@x:4318//otlp"},
			args:     javaJar,
			want:     each("{s} http/protobuf https://otlp/v1/{s} [env OTEL_EXPORTER_OTLP_ENDPOINT]"),
			wantWarn: []string{`OTEL_EXPORTER_OTLP_ENDPOINT="https://u:xxxxx@x:4318//otlp" (env) has a path starting with "//"`},
		},
		{
			name:     "generic endpoint path starting with // and a userinfo",
			env:      []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://x:4318//u:s3cret@otlp"},
			args:     javaJar,
			want:     each("{s} http/protobuf http://u:s3cret@otlp/v1/{s} [env OTEL_EXPORTER_OTLP_ENDPOINT]"),
			wantWarn: []string{`reads "u:xxxxx@otlp/v1/traces" as a host name, so traces go to "http://u:xxxxx@otlp/v1/traces"`},
		},
		{
			name:     "the configuration file is read only under its exact name",
			args:     []string{"java", "-javaagent:/otel.jar", "-Dotel.javaagent.configuration.file=/etc/otel.properties", "-jar", "app.jar"},
			files:    map[string]string{"/etc/otel.properties": "otel.exporter.otlp.endpoint=http://file:4318\n"},
			want:     each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantWarn: []string{"otel.javaagent.configuration.file (-D on the command line) is not read: the agent reads this setting only as otel.javaagent.configuration-file or OTEL_JAVAAGENT_CONFIGURATION_FILE, spelled exactly"},
		},
		{
			name:     "the configuration file from a lower-case variable is not read",
			env:      []string{"otel_javaagent_configuration_file=/etc/otel.properties"},
			args:     javaJar,
			files:    map[string]string{"/etc/otel.properties": "otel.exporter.otlp.endpoint=http://file:4318\n"},
			want:     each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"),
			wantWarn: []string{"otel_javaagent_configuration_file (env) is not read"},
		},
		{
			name:  "SDK keys in the configuration file are normalised",
			env:   []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"},
			args:  javaJar,
			files: map[string]string{"/etc/otel.properties": "OTEL.EXPORTER.OTLP.ENDPOINT=http://file:4318\n"},
			want:  each("{s} http/protobuf http://file:4318/v1/{s} [file /etc/otel.properties]"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Resolve(Input{Env: tt.env, Args: tt.args, Open: openFiles(tt.files)})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if have := summary(plan); !slices.Equal(have, tt.want) {
				t.Errorf("have\n\t%s\nwant\n\t%s", strings.Join(have, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
			if !strings.HasPrefix(plan.Defaults, tt.wantDefaults) {
				t.Errorf("have Defaults %q, want prefix %q", plan.Defaults, tt.wantDefaults)
			}
			for _, w := range tt.wantWarn {
				if !slices.ContainsFunc(plan.Warnings, func(have string) bool { return strings.Contains(have, w) }) {
					t.Errorf("have warnings %q, want one containing %q", plan.Warnings, w)
				}
			}
			for _, w := range plan.Warnings {
				checkMessage(t, "warning", w)
			}
			if plan.Disabled.Source != "" || plan.Declarative.Source != "" {
				t.Errorf("have Disabled %+v, Declarative %+v, want neither", plan.Disabled, plan.Declarative)
			}
		})
	}
}

func TestResolveDetails(t *testing.T) {
	t.Run("agent version and sources of a full destination", func(t *testing.T) {
		plan, err := Resolve(Input{
			Env: []string{
				"OTEL_EXPORTER_OTLP_ENDPOINT=https://collector:4318",
				"OTEL_EXPORTER_OTLP_HEADERS=api-key=secret",
				"OTEL_EXPORTER_OTLP_TRACES_HEADERS=k=",
				"OTEL_EXPORTER_OTLP_LOGS_HEADERS=other=1",
				"OTEL_EXPORTER_OTLP_CERTIFICATE=/certs/ca.pem",
				"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=",
				"OTEL_EXPORTER_OTLP_TIMEOUT=5s",
			},
			Args: []string{"java", "-javaagent:/otel.jar", "-Dotel.exporter.otlp.traces.certificate=/certs/traces.pem", "-jar", "app.jar"},
			Open: openFiles(map[string]string{"/otel.jar": agentJar(t, "2.10.0"), "/certs/ca.pem": "x", "/certs/traces.pem": "x"}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := (Value{"2.10.0", "manifest of /otel.jar", "Implementation-Version"}); plan.AgentVersion != want {
			t.Errorf("have AgentVersion %+v, want %+v", plan.AgentVersion, want)
		}
		tr, logs := plan.Destinations[0], plan.Destinations[2]
		wantProtocol := Value{"http/protobuf", "default (agent 2.x: /otel.jar says 2.10.0)", "otel.exporter.otlp.protocol"}
		for _, c := range []struct {
			what       string
			have, want Value
		}{
			{"traces protocol", tr.Protocol, wantProtocol},
			{"traces endpoint", tr.Endpoint, Value{"https://collector:4318/v1/traces", "env OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"}},
			{"traces headers (per-signal list empty)", tr.Headers, Value{"api-key=secret", "env OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"}},
			{"logs headers", logs.Headers, Value{"other=1", "env OTEL_EXPORTER_OTLP_LOGS_HEADERS", "OTEL_EXPORTER_OTLP_LOGS_HEADERS"}},
			{"traces timeout (per-signal empty)", tr.Timeout, Value{"5s", "env OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"}},
			{"traces certificate", tr.CACert, Value{"/certs/traces.pem", "-D on the command line", "otel.exporter.otlp.traces.certificate"}},
			{"logs certificate", logs.CACert, Value{"/certs/ca.pem", "env OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"}},
			{"logs client key", logs.ClientKey, Value{}},
		} {
			if c.have != c.want {
				t.Errorf("%s: have %+v, want %+v", c.what, c.have, c.want)
			}
		}
	})

	t.Run("jar on disk read through os.Open", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "opentelemetry-javaagent.jar")
		if err := os.WriteFile(path, []byte(agentJar(t, "1.32.1")), 0o644); err != nil {
			t.Fatal(err)
		}
		plan, err := Resolve(Input{
			Args: []string{"java", "-javaagent:" + path, "-jar", "app.jar"},
			Open: func(name string) (fs.File, error) { return os.Open(name) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := "agent 1.x (" + path + " says 1.32.1)"; plan.Defaults != want {
			t.Errorf("have Defaults %q, want %q", plan.Defaults, want)
		}
	})

	t.Run("jar file without random access is not read", func(t *testing.T) {
		open := openFiles(map[string]string{"/otel.jar": agentJar(t, "1.32.1")})
		plan, err := Resolve(Input{
			Args: javaJar,
			Open: func(name string) (fs.File, error) {
				f, err := open(name)
				return struct{ fs.File }{f}, err // hides ReadAt
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := "does not support random access"; !strings.Contains(plan.Defaults, want) || !strings.HasPrefix(plan.Defaults, "agent 2.x") {
			t.Errorf("have Defaults %q, want agent 2.x and %q", plan.Defaults, want)
		}
	})

	t.Run("no file access", func(t *testing.T) {
		plan, err := Resolve(Input{
			Env:  []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"},
			Args: javaJar,
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Destinations) != 3 || !strings.Contains(plan.Defaults, "file access is disabled") {
			t.Errorf("have %d destinations, Defaults %q", len(plan.Destinations), plan.Defaults)
		}
		if !slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.Contains(w, "is not read: file access is disabled") }) {
			t.Errorf("have warnings %q, want the properties file reported unread", plan.Warnings)
		}
	})
}

func TestResolveDisabled(t *testing.T) {
	props := map[string]string{"/etc/otel.properties": "otel.javaagent.enabled=false\n"}
	tests := []struct {
		name  string
		env   []string
		args  []string
		files map[string]string
		want  Value // zero: not disabled
	}{
		{"OTEL_SDK_DISABLED=true", []string{"OTEL_SDK_DISABLED=true"}, javaJar, nil,
			Value{"true", "env OTEL_SDK_DISABLED", "OTEL_SDK_DISABLED"}},
		{"OTEL_SDK_DISABLED is case-insensitive", []string{"OTEL_SDK_DISABLED=TRUE"}, javaJar, nil,
			Value{"TRUE", "env OTEL_SDK_DISABLED", "OTEL_SDK_DISABLED"}},
		{"empty OTEL_SDK_DISABLED is unset", []string{"OTEL_SDK_DISABLED="}, javaJar, nil, Value{}},
		{"-Dotel.javaagent.enabled=false", nil,
			[]string{"java", "-javaagent:/otel.jar", "-Dotel.javaagent.enabled=false", "-jar", "app.jar"}, nil,
			Value{"false", "-D on the command line", "otel.javaagent.enabled"}},
		{"empty OTEL_JAVAAGENT_ENABLED disables (Boolean.parseBoolean)", []string{"OTEL_JAVAAGENT_ENABLED="}, javaJar, nil,
			Value{"", "env OTEL_JAVAAGENT_ENABLED", "OTEL_JAVAAGENT_ENABLED"}},
		{"-D enabled=true beats env enabled=false", []string{"OTEL_JAVAAGENT_ENABLED=false"},
			[]string{"java", "-javaagent:/otel.jar", "-Dotel.javaagent.enabled=true", "-jar", "app.jar"}, nil, Value{}},
		{"from the properties file", []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"}, javaJar, props,
			Value{"false", "file /etc/otel.properties", "otel.javaagent.enabled"}},
		{"from an agent argument", nil, []string{"java", "-javaagent:/otel.jar=otel.sdk.disabled=true", "-jar", "app.jar"}, nil,
			Value{"true", "agent argument", "otel.sdk.disabled"}},
		{"-DOTEL.JAVAAGENT.ENABLED is not the agent's key", nil,
			[]string{"java", "-javaagent:/otel.jar", "-DOTEL.JAVAAGENT.ENABLED=false", "-jar", "app.jar"}, nil, Value{}},
		{"otel_javaagent_enabled is not the agent's variable", []string{"otel_javaagent_enabled=false"}, javaJar, nil, Value{}},
		{"OTEL_JAVAAGENT_ENABLED through env(1)", nil,
			[]string{"env", "OTEL_JAVAAGENT_ENABLED=false", "java", "-javaagent:/otel.jar", "-jar", "app.jar"}, nil,
			Value{"false", "env OTEL_JAVAAGENT_ENABLED", "OTEL_JAVAAGENT_ENABLED"}},
		{"the file's key is read exactly too", []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"}, javaJar,
			map[string]string{"/etc/otel.properties": "otel.javaagent-enabled=false\n"}, Value{}},
		{"otel.sdk.disabled is the SDK's: normalised", nil,
			[]string{"java", "-javaagent:/otel.jar", "-DOTEL.SDK-DISABLED=true", "-jar", "app.jar"}, nil,
			Value{"true", "-D on the command line", "OTEL.SDK-DISABLED"}},
		{"disabled hides endpoint errors", []string{"OTEL_SDK_DISABLED=true", "OTEL_EXPORTER_OTLP_PROTOCOL=http/json"}, javaJar, nil,
			Value{"true", "env OTEL_SDK_DISABLED", "OTEL_SDK_DISABLED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Resolve(Input{Env: tt.env, Args: tt.args, Open: openFiles(tt.files)})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if plan.Disabled != tt.want {
				t.Errorf("have Disabled %+v, want %+v", plan.Disabled, tt.want)
			}
			wantDests := 3
			if tt.want.Source != "" {
				wantDests = 0
			}
			if len(plan.Destinations) != wantDests {
				t.Errorf("have %d destinations, want %d", len(plan.Destinations), wantDests)
			}
		})
	}
}

func TestResolveDeclarative(t *testing.T) {
	tests := []struct {
		name     string
		env      []string
		args     []string
		files    map[string]string
		want     Value
		wantWarn string
	}{
		{"OTEL_EXPERIMENTAL_CONFIG_FILE", []string{"OTEL_EXPERIMENTAL_CONFIG_FILE=/etc/otel.yaml"}, javaJar, nil,
			Value{"/etc/otel.yaml", "env OTEL_EXPERIMENTAL_CONFIG_FILE", "OTEL_EXPERIMENTAL_CONFIG_FILE"}, ""},
		{"OTEL_CONFIG_FILE", []string{"OTEL_CONFIG_FILE=/etc/otel.yaml"}, javaJar, nil,
			Value{"/etc/otel.yaml", "env OTEL_CONFIG_FILE", "OTEL_CONFIG_FILE"}, ""},
		{"-Dotel.config.file", nil, []string{"java", "-Dotel.config.file=/x.yaml", "-javaagent:/otel.jar", "-jar", "app.jar"}, nil,
			Value{"/x.yaml", "-D on the command line", "otel.config.file"}, ""},
		{"errors become warnings", []string{"OTEL_EXPERIMENTAL_CONFIG_FILE=/etc/otel.yaml", "OTEL_EXPORTER_OTLP_PROTOCOL=http/json"}, javaJar, nil,
			Value{"/etc/otel.yaml", "env OTEL_EXPERIMENTAL_CONFIG_FILE", "OTEL_EXPERIMENTAL_CONFIG_FILE"}, `"http/json"`},
		{"OTEL_JAVAAGENT_ENABLED is not read", []string{"OTEL_EXPERIMENTAL_CONFIG_FILE=/etc/otel.yaml", "OTEL_JAVAAGENT_ENABLED=false"}, javaJar, nil,
			Value{"/etc/otel.yaml", "env OTEL_EXPERIMENTAL_CONFIG_FILE", "OTEL_EXPERIMENTAL_CONFIG_FILE"}, ""},
		{"unreadable properties file becomes a warning", []string{"OTEL_CONFIG_FILE=/etc/otel.yaml", "OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"}, javaJar,
			map[string]string{"/etc/otel.properties": "k=\\u12"},
			Value{"/etc/otel.yaml", "env OTEL_CONFIG_FILE", "OTEL_CONFIG_FILE"}, `malformed \uxxxx escape`},
		{"not read from the properties file", []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"}, javaJar,
			map[string]string{"/etc/otel.properties": "otel.experimental.config.file=/etc/otel.yaml"}, Value{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Resolve(Input{Env: tt.env, Args: tt.args, Open: openFiles(tt.files)})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if plan.Declarative != tt.want {
				t.Errorf("have Declarative %+v, want %+v", plan.Declarative, tt.want)
			}
			if plan.Disabled.Source != "" {
				t.Errorf("have Disabled %+v, want none", plan.Disabled)
			}
			if tt.wantWarn != "" && !slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.Contains(w, tt.wantWarn) }) {
				t.Errorf("have warnings %q, want one containing %q", plan.Warnings, tt.wantWarn)
			}
		})
	}
}

func TestResolveWarnings(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		args  []string
		files map[string]string
		want  string
	}{
		{"http/protobuf on 4317", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4317"}, javaJar, nil,
			`OTEL_EXPORTER_OTLP_ENDPOINT="http://c:4317" (env) uses port 4317 with protocol "http/protobuf": otlp/http is usually on port 4318`},
		{"grpc on 4318", []string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=http://c:4318"}, javaJar, nil,
			`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="http://c:4318" (env) uses port 4318 with protocol "grpc": otlp/grpc is usually on port 4317`},
		{"userinfo is redacted", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://user:s3cret@c:4317"}, javaJar, nil,
			`OTEL_EXPORTER_OTLP_ENDPOINT="http://user:xxxxx@c:4317" (env) uses port 4317`},
		{"generic endpoint already has the signal path", nil,
			[]string{"java", "-javaagent:/otel.jar", "-Dotel.exporter.otlp.endpoint=http://c:4318/v1/traces", "-jar", "app.jar"}, nil,
			`otel.exporter.otlp.endpoint="http://c:4318/v1/traces" (-D on the command line) already ends in "/v1/traces"`},
		{"OTEL_EXPORTER_OTLP_INSECURE", []string{"OTEL_EXPORTER_OTLP_INSECURE=true"}, javaJar, nil,
			"OTEL_EXPORTER_OTLP_INSECURE (env) is not read by the java agent"},
		{"missing properties file", []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/none.properties"}, javaJar, nil,
			`configuration file "/etc/none.properties" (OTEL_JAVAAGENT_CONFIGURATION_FILE (env)) does not exist: the agent ignores it`},
		{"no -javaagent", nil, []string{"java", "-jar", "app.jar"}, nil,
			"no -javaagent option on the command line"},
		{"malformed agent arguments", nil, []string{"java", "-javaagent:/otel.jar=secret;k=v;=x", "-jar", "app.jar"}, nil,
			"-javaagent:/otel.jar (command line) has 2 agent arguments that are not key=value: the agent skips them"},
		{"main class in JDK_JAVA_OPTIONS", []string{"JDK_JAVA_OPTIONS=-cp /x com.example.Main"}, javaJar, nil,
			`JDK_JAVA_OPTIONS names "com.example.Main", a main class, jar or module: the java launcher refuses to start`},
		{"unreadable argument file", nil, []string{"java", "-javaagent:/otel.jar", "@/app/missing.args", "-jar", "app.jar"}, nil,
			`argument file "/app/missing.args" (command line) is not read`},
		{"VMOptionsFile", nil, []string{"java", "-XX:VMOptionsFile=/app/vm.options", "-javaagent:/otel.jar", "-jar", "app.jar"}, nil,
			`-XX:VMOptionsFile="/app/vm.options" (command line) is not read`},
		{"environment variable name as -D", nil, []string{"java", "-DOTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318", "-javaagent:/otel.jar", "-jar", "app.jar"}, nil,
			"OTEL_EXPORTER_OTLP_ENDPOINT (-D on the command line) is an environment variable name: as a property the agent does not recognise it; use otel.exporter.otlp.endpoint"},
		{"environment variable name in the properties file", []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"}, javaJar,
			map[string]string{"/etc/otel.properties": "OTEL_EXPORTER_OTLP_PROTOCOL=grpc\n"},
			"OTEL_EXPORTER_OTLP_PROTOCOL (file /etc/otel.properties) is an environment variable name"},
		{"-D through a shell", []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel.jar"},
			[]string{"sh", "-c", "exec java -Dotel.exporter.otlp.endpoint=http://c:4317 -Dotel.exporter.otlp.headers=k=s3cret -jar app.jar"}, nil,
			`command "sh" is not java, and its arguments hold "-Dotel.exporter.otlp.endpoint": otelwait does not read settings passed through a shell or script, so it used only the environment and JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS and _JAVA_OPTIONS; put them there or give the targets explicitly`},
		{"-javaagent through a script", nil, []string{"/app/start.sh", "-javaagent:/otel.jar"}, nil,
			`command "start.sh" is not java, and its arguments hold "-javaagent"`},
		{"-D in any case and with dashes", nil, []string{"./gradlew", "run", "-DOTEL-EXPORTER-OTLP-ENDPOINT=http://c:4318"}, nil,
			`its arguments hold "-DOTEL-EXPORTER-OTLP-ENDPOINT"`},
		{"variables set by a shell", nil, []string{"sh", "-c", "export OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318; exec java -jar app.jar"}, nil,
			`its arguments hold "OTEL_EXPORTER_OTLP_ENDPOINT="`},
		{"options in JAVA_OPTS for a shell", []string{"JAVA_OPTS=-javaagent:/otel.jar -Dotel.exporter.otlp.endpoint=http://c:4317 -Dotel.exporter.otlp.protocol=grpc"},
			[]string{"sh", "-c", "exec java $JAVA_OPTS -jar app.jar"}, nil,
			`JAVA_OPTS holds "-javaagent", which otelwait does not read: if command "sh" passes it to java, put the options in JAVA_TOOL_OPTIONS or give the targets explicitly`},
		{"options in JAVA_OPTS for java", []string{"JAVA_OPTS=-Dotel.exporter.otlp.endpoint=http://c:4317"}, javaJar, nil,
			`JAVA_OPTS holds "-Dotel.exporter.otlp.endpoint", but java does not read JAVA_OPTS: the jvm does not see it; use JAVA_TOOL_OPTIONS or JDK_JAVA_OPTIONS`},
		{"missing -javaagent jar", nil, javaJar, nil,
			`-javaagent jar "/otel.jar" (command line) does not exist: the jvm refuses to start`},
		{"-javaagent jar without Premain-Class", []string{"JAVA_TOOL_OPTIONS=-javaagent:/lib.jar"}, []string{"java", "-javaagent:/otel.jar", "-jar", "app.jar"},
			map[string]string{"/lib.jar": otherJar(t, "", "1.0", false)},
			`-javaagent jar "/lib.jar" (JAVA_TOOL_OPTIONS) has no Premain-Class in its manifest: the jvm refuses to start`},
		{"otel.javaagent.enabled in capitals", nil, []string{"java", "-javaagent:/otel.jar", "-DOTEL.JAVAAGENT.ENABLED=false", "-jar", "app.jar"}, nil,
			"OTEL.JAVAAGENT.ENABLED (-D on the command line) is not read: the agent reads this setting only as otel.javaagent.enabled or OTEL_JAVAAGENT_ENABLED, spelled exactly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Resolve(Input{Env: tt.env, Args: tt.args, Open: openFiles(tt.files)})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.Contains(w, tt.want) }) {
				t.Errorf("have warnings\n\t%s\nwant one containing\n\t%s", strings.Join(plan.Warnings, "\n\t"), tt.want)
			}
			for _, w := range plan.Warnings {
				checkMessage(t, "warning", w)
				if strings.Contains(w, "s3cret") || strings.Contains(w, "secret;") {
					t.Errorf("warning %q leaks a secret", w)
				}
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	permission := func(name string) (fs.File, error) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	tests := []struct {
		name  string
		env   []string
		args  []string
		open  func(string) (fs.File, error)
		want  []string // substrings
		wantW error    // errors.Is, if set
	}{
		{name: "http/json", env: []string{"OTEL_EXPORTER_OTLP_PROTOCOL=http/json"},
			want: []string{`OTEL_EXPORTER_OTLP_PROTOCOL="http/json" (env): the java agent supports only "grpc" and "http/protobuf"`}},
		{name: "empty per-signal protocol is a value", env: []string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="},
			want: []string{`OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="" (env)`}},
		{name: "grpc endpoint with a path", env: []string{"OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4317/v1/traces"},
			want: []string{`a grpc endpoint must not have a path ("/v1/traces")`}},
		{name: "scheme not http", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=ftp://c:4318"},
			want: []string{`OTEL_EXPORTER_OTLP_ENDPOINT="ftp://c:4318" (env): scheme "ftp" is not http or https`}},
		{name: "no scheme", args: []string{"java", "-javaagent:/otel.jar", "-Dotel.exporter.otlp.traces.endpoint=collector", "-jar", "app.jar"},
			want: []string{`otel.exporter.otlp.traces.endpoint="collector" (-D on the command line): not an absolute url`}},
		{name: "host:port without scheme", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=collector:4317"},
			want: []string{`scheme "collector" is not http or https`}},
		{name: "empty endpoint is a value", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT="},
			want: []string{`OTEL_EXPORTER_OTLP_ENDPOINT="" (env): not an absolute url`}},
		{name: "query string", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318/?x=1"},
			want: []string{"must not have a query string"}},
		{name: "unmatched quote", env: []string{`JAVA_TOOL_OPTIONS=-javaagent:/otel.jar "-Dx=y`},
			want: []string{"JAVA_TOOL_OPTIONS: unmatched quote: the jvm refuses to start"}},
		{name: "none with others", env: []string{"OTEL_LOGS_EXPORTER=none,otlp"},
			want: []string{`OTEL_LOGS_EXPORTER="none,otlp" (env): "none" together with other exporters`}},
		{name: "exporter twice", env: []string{"OTEL_TRACES_EXPORTER=otlp, otlp"},
			want: []string{`"otlp" is listed twice`}},
		{name: "client key without certificate", env: []string{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY=/k.pem"},
			want: []string{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY (env) is set but no client certificate"}},
		{name: "certificate file missing", env: []string{"OTEL_EXPORTER_OTLP_CERTIFICATE=/certs/ca.pem"},
			want: []string{`OTEL_EXPORTER_OTLP_CERTIFICATE="/certs/ca.pem" (env)`}, wantW: fs.ErrNotExist},
		{name: "header without =", env: []string{"OTEL_EXPORTER_OTLP_HEADERS=Bearer s3cret"},
			want: []string{"OTEL_EXPORTER_OTLP_HEADERS (env): entry 1 is not key=value"}},
		{name: "header not url-encoded", env: []string{"OTEL_EXPORTER_OTLP_HEADERS=a=1,api-key=s3cret%zz"},
			want: []string{`value of header "api-key" is not url-encoded`}},
		{name: "bad timeout", env: []string{"OTEL_EXPORTER_OTLP_TIMEOUT=10 seconds"},
			want: []string{`OTEL_EXPORTER_OTLP_TIMEOUT="10 seconds" (env): not a duration`}},
		{name: "unreadable certificate file", env: []string{"OTEL_EXPORTER_OTLP_CERTIFICATE=/certs/ca.pem"}, open: permission,
			want: []string{`OTEL_EXPORTER_OTLP_CERTIFICATE="/certs/ca.pem" (env)`, "the java sdk refuses to start"}, wantW: fs.ErrPermission},
		{name: "certificate path is a directory", env: []string{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE=/certs", "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY=/certs/tls.key"},
			open: openFiles(map[string]string{"/certs/tls.key": "k"}),
			want: []string{`OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE="/certs" (env)`, "the java sdk refuses to start"}},
		{name: "properties file too large to read", env: []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"},
			open: openFiles(map[string]string{"/etc/otel.properties": strings.Repeat("#", maxFile+1)}),
			want: []string{`configuration file "/etc/otel.properties" (OTEL_JAVAAGENT_CONFIGURATION_FILE (env)): larger than 4194304 bytes: otelwait does not read it`}},
		{name: "exporter name in capitals", env: []string{"OTEL_TRACES_EXPORTER=OTLP"},
			want: []string{`OTEL_TRACES_EXPORTER="OTLP" (env): exporter names are case-sensitive, and "OTLP" is not "otlp": the java sdk refuses to start and nothing is exported`}},
		{name: "none in capitals", args: []string{"java", "-javaagent:/otel.jar", "-Dotel.metrics.exporter=None", "-jar", "app.jar"},
			want: []string{`otel.metrics.exporter="None" (-D on the command line): exporter names are case-sensitive, and "None" is not "none"`}},
		{name: "header value with a line break", env: []string{"OTEL_EXPORTER_OTLP_HEADERS=a=s3cret%0Ac"},
			want: []string{`OTEL_EXPORTER_OTLP_HEADERS (env): value of header "a" holds a control character once url-decoded`}},
		{name: "header value not ascii", env: []string{"OTEL_EXPORTER_OTLP_HEADERS=a=s3cr%C3%A9t"},
			want: []string{`OTEL_EXPORTER_OTLP_HEADERS (env): value of header "a" holds a non-ascii character once url-decoded`}},
		{name: "header value not ascii, as typed", env: []string{"OTEL_EXPORTER_OTLP_HEADERS=a=s3cré"},
			want: []string{`value of header "a" holds a non-ascii character`}},
		{name: "header name with a space", env: []string{"OTEL_EXPORTER_OTLP_LOGS_HEADERS=my key=s3cret"},
			want: []string{`OTEL_EXPORTER_OTLP_LOGS_HEADERS (env): header name "my key" is not an http token`}},
		{name: "header name with a colon", args: []string{"java", "-javaagent:/otel.jar", "-Dotel.exporter.otlp.headers=a:b=s3cret", "-jar", "app.jar"},
			want: []string{`otel.exporter.otlp.headers (-D on the command line): header name "a:b" is not an http token`}},
		{name: "query values and passwords redacted", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://u:s3cret@c:4318/?tok=s3cret&s3cret"},
			want: []string{`OTEL_EXPORTER_OTLP_ENDPOINT="http://u:xxxxx@c:4318/?tok=redacted&redacted" (env): an otlp endpoint must not have a query string`}},
		{name: "a '/' typed in a password", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://u:s3cret/x@c:4318"},
			want: []string{`OTEL_EXPORTER_OTLP_ENDPOINT="http://u:xxxxx@c:4318" (env): invalid port (redacted)`}},
		{name: "generic endpoint /// names no host", env: []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://x:4318///"},
			want: []string{`OTEL_EXPORTER_OTLP_ENDPOINT="http://x:4318///" (env) has a path starting with "//": the agent appends "v1/traces" and reads "http:///v1/traces" as a url naming a host, which is invalid`}},
		{name: "malformed unicode escape in properties file", env: []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=/etc/otel.properties"},
			open: openFiles(map[string]string{"/etc/otel.properties": "a=1\nb=\\u12x4\n"}),
			want: []string{`configuration file "/etc/otel.properties"`, `logical line 2: malformed \uxxxx escape`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args == nil {
				args = javaJar
			}
			open := tt.open
			if open == nil {
				open = openFiles(nil)
			}
			_, err := Resolve(Input{Env: tt.env, Args: args, Open: open})
			if err == nil {
				t.Fatalf("Resolve: have no error, want one containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("have error %q, want it to contain %q", err, w)
				}
			}
			if tt.wantW != nil && !errors.Is(err, tt.wantW) {
				t.Errorf("have error %v, want it to wrap %v", err, tt.wantW)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q leaks a header value", err)
			}
			checkMessage(t, "error", err.Error())
		})
	}
}

func TestDestinationKey(t *testing.T) {
	plan, err := Resolve(Input{
		Env: []string{
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4317",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://c:4317",
			"OTEL_EXPORTER_OTLP_LOGS_HEADERS=tenant=a",
		},
		Args: javaJar,
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, me, lo := plan.Destinations[0], plan.Destinations[1], plan.Destinations[2]
	if tr.Endpoint.Value != "http://c:4317/" || me.Endpoint.Value != "http://c:4317" {
		t.Fatalf("have endpoints %q and %q, want the per-signal one with a trailing slash", tr.Endpoint.Value, me.Endpoint.Value)
	}
	if tr.Key() == me.Key() {
		t.Errorf("have equal keys for different grpc services: %q", tr.Key())
	}
	trailing := tr
	trailing.Endpoint.Value = "http://c:4317"
	if tr.Key() != trailing.Key() {
		t.Errorf("have different keys for the same grpc endpoint and signal: %q, %q", tr.Key(), trailing.Key())
	}
	if h := lo.HeaderLines(); len(h) != 1 || h[0] != "tenant: a" {
		t.Errorf("HeaderLines: have %q, want [\"tenant: a\"]", h)
	}
	if me.Key() == lo.Key() {
		t.Errorf("have equal keys for different headers: %q", me.Key())
	}

	plan, err = Resolve(Input{Args: javaJar})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Destinations[0].Key() == plan.Destinations[1].Key() {
		t.Errorf("have equal keys for different http paths: %q", plan.Destinations[0].Key())
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ have, want string }{
		{"", ""},
		{"k=v", "k=<redacted>"},
		{"k=v,k2=v2", "k=<redacted>,k2=<redacted>"},
		{"Authorization=Basic%20abc=,x-tenant = a", "Authorization=<redacted>,x-tenant =<redacted>"},
		{"Bearer abc,k=", "<redacted>,k=<redacted>"},
		{"k=v, ,", "k=<redacted>, ,"},
	}
	for _, tt := range tests {
		if have := Redact(tt.have); have != tt.want {
			t.Errorf("Redact(%q): have %q, want %q", tt.have, have, tt.want)
		}
	}
}

func TestSplitOptionsVar(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{" \t\n", nil, false},
		{"-Da=b  -javaagent:/x.jar\v-Dc", []string{"-Da=b", "-javaagent:/x.jar", "-Dc"}, false},
		{`-D"a b"c '-Dd=e f' ""`, []string{"-Da bc", "-Dd=e f", ""}, false},
		{`-Dq='a"b'`, []string{`-Dq=a"b`}, false},
		{`-Dx=\"y`, nil, true}, // no escapes: the quote opens
		{`-Dx='y`, nil, true},
	}
	for _, tt := range tests {
		have, err := splitOptionsVar(tt.in)
		if (err != nil) != tt.err || !slices.Equal(have, tt.want) {
			t.Errorf("splitOptionsVar(%q): have %q, %v; want %q, error %v", tt.in, have, err, tt.want, tt.err)
		}
	}
}

// TestSplitArgFile uses the cases of the stand-alone test in OpenJDK's libjli/args.c.
func TestSplitArgFile(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"-version -cp \"c:\\\\java libs\\\\one.jar\" \n", []string{"-version", "-cp", "c:\\java libs\\one.jar"}},
		{"com.foo.Panda \"Furious 5\"\fand\t'Shi Fu' \"escape\tprison", []string{"com.foo.Panda", "Furious 5", "and", "Shi Fu", "escape\tprison"}},
		{"escaped chars testing \"\\a\\b\\c\\f\\n\\r\\t\\v\\9\\6\\23\\82\\28\\377\\477\\278\\287\"",
			[]string{"escaped", "chars", "testing", "abc\f\n\r\tv96238228377477278287"}},
		{"\"mix 'single quote' in double\" 'mix \"double quote\" in single' partial\"quote me\"this",
			[]string{"mix 'single quote' in double", "mix \"double quote\" in single", "partialquote methis"}},
		{"line one #comment\n'line #2' #rest are comment\r\n#comment on line 3\nline 4 #comment to eof",
			[]string{"line", "one", "line #2", "line", "4"}},
		{"This is an \"open quote \n    across line\n\t, note for WS.",
			[]string{"This", "is", "an", "open quote ", "across", "line", ",", "note", "for", "WS."}},
		{"Try \"this \\\\\\\\ escape\\n double quote \\\" in open quote",
			[]string{"Try", "this \\\\ escape\n double quote \" in open quote"}},
		{"'-Dmy.quote.single'='Property in single quote. Here a double quote\" Add some slashes \\\\/'",
			[]string{"-Dmy.quote.single=Property in single quote. Here a double quote\" Add some slashes \\/"}},
		{"\"Open quote to \n  new \"line \\\n\r   third\\\n\r\\\tand\ffourth\"",
			[]string{"Open quote to ", "new", "line third\tand\ffourth"}},
		{"c:\\\"partial quote\"\\lib", []string{"c:\\partial quote\\lib"}},
		{`"" x`, []string{"", "x"}},
		{`x ""`, []string{"x"}},
	}
	for _, tt := range tests {
		if have := splitArgFile(tt.in); !slices.Equal(have, tt.want) {
			t.Errorf("splitArgFile(%q):\nhave %q\nwant %q", tt.in, have, tt.want)
		}
	}
}

func TestParseAgentArgs(t *testing.T) {
	tests := []struct {
		in            string
		want          []property
		wantMalformed int
	}{
		{"", nil, 0},
		{"foo=bar=baz;bar=b,c", []property{{"foo", "bar=baz"}, {"bar", "b,c"}}, 0}, // AgentInitializerTest
		{" k = v ;;x;=y;k2=;", []property{{"k", "v"}, {"k2", ""}}, 3},
		{";;", nil, 0},
	}
	for _, tt := range tests {
		have, malformed := parseAgentArgs(tt.in)
		if !slices.Equal(have, tt.want) || len(malformed) != tt.wantMalformed {
			t.Errorf("parseAgentArgs(%q): have %q, %d malformed; want %q, %d", tt.in, have, len(malformed), tt.want, tt.wantMalformed)
		}
	}
}

func TestParseProperties(t *testing.T) {
	tests := []struct {
		in   string
		want []property
		err  bool
	}{
		{"", nil, false},
		{"a=b\nc:d\ne f\n  g  =  h  \n", []property{{"a", "b"}, {"c", "d"}, {"e", "f"}, {"g", "h  "}}, false},
		{"# c\n! c\n   # c\nk\n", []property{{"k", ""}}, false},
		{"k=a\\\n   b\\\r\n c\r\nk2=\\\\\n", []property{{"k", "abc"}, {"k2", "\\"}}, false},
		{"a\\=b\\ c=d\\te\\x", []property{{"a=b c", "d\te" + "x"}}, false},
		{"k=\\u00e9\\ud83d\\ude00\\u0041", []property{{"k", "é😀A"}}, false},
		{"k = = v", []property{{"k", "= v"}}, false},
		{"k v=w", []property{{"k", "v=w"}}, false},
		{"k=v\\", []property{{"k", "v"}}, false},
		{"k=#not a comment\n#k2=v", []property{{"k", "#not a comment"}}, false},
		{"k=a\\\n#b", []property{{"k", "a#b"}}, false},
		{"k=\\u12", nil, true},
		{"k=\\uzzzz", nil, true},
	}
	for _, tt := range tests {
		have, err := parseProperties(tt.in)
		if (err != nil) != tt.err || !slices.Equal(have, tt.want) {
			t.Errorf("parseProperties(%q): have %q, %v; want %q, error %v", tt.in, have, err, tt.want, tt.err)
		}
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in       string
		want     string // String(); "" for an error
		wantPort int
	}{
		{"http://localhost:4318", "http://localhost:4318", 4318},
		{"  HTTPS://Collector.example:443/otlp  ", "https://Collector.example:443/otlp", 443},
		{"http://collector", "http://collector", -1},
		{"http://collector:", "http://collector:", -1},
		{"http://user:pw@[::1]:4317/", "http://user:pw@[::1]:4317/", 4317},
		{"http://[fe80::1%25eth0]:4317", "http://[fe80::1%25eth0]:4317", 4317},
		{"http://[::1]x", "", 0},
		{"http://[::1", "", 0},
		{"http://a@b@c:1", "", 0},
		{"http://c:4318#frag", "", 0},
		{"http://c:4318/?", "", 0},
		{"http://c:99999", "", 0},
		{"http://c:+1", "", 0},
		{"http://c:-1", "", 0},
		{"http:/c:4318", "", 0},
		{"http://:4318", "", 0},
		{"http://a b:4318", "", 0},
		{"grpc://c:4317", "", 0},
		{"1http://c", "", 0},
		{"c:4317", "", 0},
		{"", "", 0},
	}
	for _, tt := range tests {
		e, err := parseEndpoint(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("parseEndpoint(%q): have %q, want an error", tt.in, e)
			}
			continue
		}
		if err != nil || e.String() != tt.want || e.port != tt.wantPort {
			t.Errorf("parseEndpoint(%q): have %q port %d, %v; want %q port %d", tt.in, e, e.port, err, tt.want, tt.wantPort)
		}
	}
}

func TestParseHeadersAndDuration(t *testing.T) {
	headers := []struct {
		in   string
		n    int
		fail bool
	}{
		{"", 0, false},
		{" , ", 0, false},
		{"a=1, b = 2 ,c=", 2, false},
		{"a=x%20y+z", 1, false}, // "a: x y z"
		{"a", 0, true},
		{"=a", 0, true},
		{"a=%G1", 0, true},
		{"a=b%0Ac", 0, true},
		{"a=b%00", 0, true},
		{"a=b%09c", 1, false}, // a tab is allowed in a value
		{"my key=v", 0, true},
		{"a:b=c", 0, true},
		{"a(b=c", 0, true},
		{"X-Api-Key_1.!#$%&'*+^`|~=c", 1, false},
	}
	for _, tt := range headers {
		lines, err := parseHeaders(tt.in)
		if n := len(lines); n != tt.n || (err != nil) != tt.fail {
			t.Errorf("parseHeaders(%q): have %q, %v; want %d, error %v", tt.in, lines, err, tt.n, tt.fail)
		}
	}
	for in, want := range map[string]bool{
		"10000": true, "10s": true, " 5 ms ": true, "1d": true, "+3": true,
		"": false, "-1": false, "10 seconds": false, "s": false, "1.5s": false, "99999999999999999999": false,
	} {
		if have := validDuration(in); have != want {
			t.Errorf("validDuration(%q): have %v, want %v", in, have, want)
		}
	}
}

func TestManifest(t *testing.T) {
	attrs := parseManifest([]byte("Manifest-Version: 1.0\r\nImplementation-Version: 2.10.\r\n 0-alpha\nPREMAIN-CLASS: x.Y\rBad line\n\nName: section\nImplementation-Version: 9\n"))
	if attrs["implementation-version"] != "2.10.0-alpha" || attrs["premain-class"] != "x.Y" {
		t.Errorf("parseManifest: have %q", attrs)
	}
	for in, want := range map[string]agentVersion{"2.10.0": {2, 10}, "1.33.6-alpha": {1, 33}, "3": {3, 0}, "2.x": {2, 0}} {
		if have, ok := parseAgentVersion(in); !ok || have != want {
			t.Errorf("parseAgentVersion(%q): have %v, %v; want %v", in, have, ok, want)
		}
	}
	for _, in := range []string{"", "v2.1", "-1.0"} {
		if have, ok := parseAgentVersion(in); ok {
			t.Errorf("parseAgentVersion(%q): have %v, want not ok", in, have)
		}
	}
	_, err := readManifest(openFiles(map[string]string{"/x.jar": "not a zip"}), "/x.jar")
	if err == nil {
		t.Error("readManifest of a non-zip: have no error")
	}
}

// TestResolveQuiet checks commands that get no warning: commands that are not java but pass no
// java settings (auto mode also serves other languages' SDKs, configured by OTEL_* alone).
func TestResolveQuiet(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
	}{
		{"gradle wrapper", nil, []string{"./gradlew", "run"}},
		{"node with OTEL_ variables", []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318", "NODE_OPTIONS=--require @opentelemetry/auto-instrumentations-node/register"}, []string{"node", "app.js"}},
		{"shell script without java settings", []string{"OTEL_SERVICE_NAME=app"}, []string{"sh", "-c", "OTEL_SERVICE_NAME=x exec python app.py -Dfoo=1"}},
		{"no command", []string{"JAVA_OPTS=-javaagent:/otel.jar"}, nil},
		{"jar paths are not options", []string{"AGENT_JAR=/opt/opentelemetry-javaagent.jar", "JAVA_TOOL_OPTIONS=-javaagent:/otel.jar"}, []string{"/app/run.sh", "--agent=/opt/otel-javaagent.jar", "/x-Dotel.y"}},
		{"java with the agent in JAVA_TOOL_OPTIONS", []string{"JAVA_TOOL_OPTIONS=-javaagent:/otel.jar -Dotel.exporter.otlp.endpoint=http://c:4318"}, []string{"env", "java", "-jar", "app.jar"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jar := agentJar(t, "2.10.0")
			plan, err := Resolve(Input{Env: tt.env, Args: tt.args, Open: openFiles(map[string]string{"/otel.jar": jar})})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if len(plan.Warnings) > 0 {
				t.Errorf("have warnings %q, want none", plan.Warnings)
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	base := []string{"A=1", "B=2", "A=3"}
	tests := []struct {
		args     []string
		wantEnv  []string
		wantRest []string
		ok       bool
	}{
		{[]string{"java"}, base, []string{"java"}, true},
		{[]string{"A=x", "C=y=z", "java", "D=1"}, []string{"B=2", "A=x", "C=y=z"}, []string{"java", "D=1"}, true},
		{[]string{"-u", "A", "-uB", "java"}, []string{}, []string{"java"}, true},
		{[]string{"--unset=B", "--unset", "A", "X=1"}, []string{"X=1"}, []string{}, true},
		{[]string{"-i", "X=1", "java"}, []string{"X=1"}, []string{"java"}, true},
		{[]string{"--", "-", "java"}, []string{}, []string{"java"}, true},
		{[]string{"--", "-i", "java"}, base, []string{"-i", "java"}, true},
		{[]string{"-S", "java -Dx=1"}, nil, nil, false},
		{[]string{"-C", "/app", "java"}, nil, nil, false},
		{[]string{"-u"}, nil, nil, false},
		{[]string{"=x", "java"}, nil, nil, false},
	}
	for _, tt := range tests {
		env, rest, ok := applyEnv(slices.Clone(base), tt.args)
		if ok != tt.ok || (ok && (!slices.Equal(env, tt.wantEnv) || !slices.Equal(rest, tt.wantRest))) {
			t.Errorf("applyEnv(%q, %q): have %q, %q, %v; want %q, %q, %v", base, tt.args, env, rest, ok, tt.wantEnv, tt.wantRest, tt.ok)
		}
	}
}

func TestInitProgram(t *testing.T) {
	tests := []struct {
		init string
		args []string
		want []string // nil: no program otelwait can tell
	}{
		{"tini", []string{"--", "java", "-jar", "a.jar"}, []string{"java", "-jar", "a.jar"}},
		{"tini", []string{"java", "-jar", "a.jar"}, []string{"java", "-jar", "a.jar"}},
		{"tini", []string{"-vvv", "-s", "-w", "-g", "java"}, []string{"java"}},
		{"tini", []string{"-pSIGKILL", "-e", "143", "-RF", "--", "-java"}, []string{"-java"}},
		{"tini", []string{"-sp", "SIGKILL", "java"}, []string{"java"}},
		{"tini", []string{"-e", "--", "java"}, []string{"java"}}, // "--" is -e's value
		{"tini", []string{"-h"}, nil},
		{"tini", []string{"-l"}, nil},
		{"tini", []string{"--version"}, nil},
		{"tini", []string{"-p"}, nil},
		{"tini", []string{"--"}, nil},
		{"tini", nil, nil},
		{"dumb-init", []string{"java"}, []string{"java"}},
		{"dumb-init", []string{"-c", "-v", "--verbose", "--single-child", "--", "java"}, []string{"java"}},
		{"dumb-init", []string{"-r15:2", "--rewrite", "1:0", "--rewrite=2:15", "java"}, []string{"java"}},
		{"dumb-init", []string{"-V"}, nil},
		{"dumb-init", []string{"--help"}, nil},
		{"dumb-init", []string{"--rewrite"}, nil},
		{"dumb-init", []string{"-s", "java"}, nil},
	}
	for _, tt := range tests {
		have, ok := inits[tt.init].program(tt.args)
		if ok != (tt.want != nil) || !slices.Equal(have, tt.want) {
			t.Errorf("%s %q: have %q, %v; want %q", tt.init, tt.args, have, ok, tt.want)
		}
	}
}

// A properties file the agent can't read is logged and ignored by it
// (ConfigurationFile.loadConfigFile): the exports go to the defaults, so
// that is where to wait. A ConfigMap mounted at the file's path is a
// directory there. Read through the real file system, as otelwait does.
func TestResolveUnreadablePropertiesFile(t *testing.T) {
	dir := t.TempDir()
	noAccess := filepath.Join(dir, "secret.properties")
	if err := os.WriteFile(noAccess, []byte("otel.exporter.otlp.endpoint=http://file:4318\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	open := func(name string) (fs.File, error) { return os.Open(name) }
	for _, tt := range []struct{ name, path, want string }{
		{"a directory", dir, "is a directory"},
		{"no permission", noAccess, "permission denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path == noAccess && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			plan, err := Resolve(Input{Env: []string{"OTEL_JAVAAGENT_CONFIGURATION_FILE=" + tt.path}, Args: []string{"java", "-javaagent:/otel.jar", "-jar", "app.jar"}, Open: open})
			if err != nil {
				t.Fatalf("Resolve: have %v, want the file ignored", err)
			}
			if have, want := summary(plan), each("{s} http/protobuf http://localhost:4318/v1/{s} [default (agent 2.x)]"); !slices.Equal(have, want) {
				t.Errorf("have %q, want %q", have, want)
			}
			want := fmt.Sprintf("configuration file %q (OTEL_JAVAAGENT_CONFIGURATION_FILE (env)) cannot be read", tt.path)
			if !slices.ContainsFunc(plan.Warnings, func(w string) bool { return strings.Contains(w, want) && strings.Contains(w, tt.want) }) {
				t.Errorf("have warnings %q, want one containing %q and %q", plan.Warnings, want, tt.want)
			}
		})
	}
}

// A leading ~ is Java's user.home, the password database's home, not HOME;
// HOME only when there is no entry.
func TestResolvePropertiesFileHome(t *testing.T) {
	files := openFiles(map[string]string{
		"/home/app/otel.properties": "otel.exporter.otlp.endpoint=http://passwd:4318",
		"/tmp/otel.properties":      "otel.exporter.otlp.endpoint=http://env:4318",
	})
	env := []string{"HOME=/tmp", "OTEL_JAVAAGENT_CONFIGURATION_FILE=~/otel.properties"}
	for _, tt := range []struct {
		name string
		home func() (string, error)
		want string
	}{
		{"password database", func() (string, error) { return "/home/app", nil }, "http://passwd:4318/v1/traces"},
		{"no entry: HOME", func() (string, error) { return "", errors.New("unknown userid 1234") }, "http://env:4318/v1/traces"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Resolve(Input{Env: env, Args: javaJar, Open: files, Home: tt.home})
			if err != nil {
				t.Fatal(err)
			}
			if have := plan.Destinations[0].Endpoint.Value; have != tt.want {
				t.Errorf("have %q, want %q", have, tt.want)
			}
		})
	}
}
