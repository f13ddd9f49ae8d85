// Package testserver has the loopback servers otelwait's tests and
// benchmarks probe: OTLP receivers that answer as the Collector's do.
package testserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

var services = map[string]string{
	"traces":  "opentelemetry.proto.collector.trace.v1.TraceService",
	"metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
	"logs":    "opentelemetry.proto.collector.logs.v1.LogsService",
}

// OTLPGRPC registers the OTLP Export method of each signal's service on s,
// as a Collector's otlp receiver does for the signals its pipelines use.
// Only empty requests are accepted (an empty message is the wire form of
// an empty Export*ServiceRequest), and, when token is set, only with the
// metadata "authorization: token"; got counts those accepted.
func OTLPGRPC(s *grpc.Server, signals []string, token string, got *atomic.Int32) {
	for _, sig := range signals {
		s.RegisterService(&grpc.ServiceDesc{
			ServiceName: services[sig],
			HandlerType: (*any)(nil),
			Methods: []grpc.MethodDesc{{
				MethodName: "Export",
				Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
					var req emptypb.Empty
					if err := dec(&req); err != nil || proto.Size(&req) != 0 {
						return nil, status.Error(codes.InvalidArgument, "not an empty request")
					}
					md, _ := metadata.FromIncomingContext(ctx)
					if token != "" && strings.Join(md.Get("authorization"), "") != token {
						return nil, status.Error(codes.Unauthenticated, "bad token")
					}
					got.Add(1)
					return &emptypb.Empty{}, nil
				},
			}},
		}, struct{}{})
	}
}

// OTLPHTTP is an OTLP/HTTP receiver for signals that answers as the
// Collector's does: 404 for other paths, 405 for other methods, 415 for
// other content types; and 503 while ready (if not nil) returns false. It
// accepts only empty bodies; got counts those accepted.
func OTLPHTTP(signals []string, ready func() bool, got *atomic.Int32) http.Handler {
	mux := http.NewServeMux()
	for _, sig := range signals {
		mux.HandleFunc("/v1/"+sig, func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method != http.MethodPost:
				w.WriteHeader(http.StatusMethodNotAllowed)
			case r.Header.Get("Content-Type") != "application/x-protobuf":
				w.WriteHeader(http.StatusUnsupportedMediaType)
			case ready != nil && !ready():
				w.WriteHeader(http.StatusServiceUnavailable)
			default:
				if b, _ := io.ReadAll(io.LimitReader(r.Body, 1)); len(b) != 0 {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				got.Add(1)
				w.Header().Set("Content-Type", "application/x-protobuf")
			}
		})
	}
	return mux
}
