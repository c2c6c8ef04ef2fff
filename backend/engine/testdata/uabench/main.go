// Command uabench is the OPC UA server of BenchmarkOPCUA10k: a gopcua
// server on ADDR (host:port) with N Double variables ns=2;s=Bench.<i> that
// all change every PERIOD, each to a value no other variable or tick has
// (tick*1e6 + i). It prints "ready" when it listens and runs until killed.
//
//	uabench ADDR N PERIOD
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: uabench ADDR N PERIOD")
		os.Exit(2)
	}
	host, portS, err := net.SplitHostPort(os.Args[1])
	port, err2 := strconv.Atoi(portS)
	n, err3 := strconv.Atoi(os.Args[2])
	period, err4 := time.ParseDuration(os.Args[3])
	if err != nil || err2 != nil || err3 != nil || err4 != nil {
		fmt.Fprintln(os.Stderr, "uabench: bad arguments")
		os.Exit(2)
	}
	srv := server.New(
		server.EndPoint(host, port),
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
	)
	server.NewNodeNameSpace(srv, "urn:edgehmi:bench:spare")
	ns := server.NewNodeNameSpace(srv, "urn:edgehmi:bench")
	root, _ := srv.Namespace(0)
	root.Objects().AddRef(ns.Objects(), id.HasComponent, true)

	var mu sync.Mutex
	values := make([]float64, n)
	stamps := make([]time.Time, n)
	ids := make([]*ua.NodeID, n)
	for i := range n {
		node := ns.AddNewVariableStringNode("Bench."+strconv.Itoa(i), func() *ua.DataValue {
			mu.Lock()
			v, ts := values[i], stamps[i]
			mu.Unlock()
			dv := &ua.DataValue{Value: ua.MustVariant(v), SourceTimestamp: ts, Status: ua.StatusOK}
			dv.UpdateMask()
			return dv
		})
		ns.Objects().AddRef(node, id.HasComponent, true)
		ids[i] = node.ID()
	}
	if err := srv.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "uabench:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	t := time.NewTicker(period)
	for tick := 1; ; tick++ {
		<-t.C
		now := time.Now()
		mu.Lock()
		for i := range values {
			values[i], stamps[i] = float64(tick)*1e6+float64(i), now
		}
		mu.Unlock()
		for i, nid := range ids {
			notify(srv, nid, values[i], now)
		}
	}
}

// notify queues a data change for every monitored item on nid, as the
// library's Server.ChangeNotification does, but without holding the
// monitored item service's lock while it waits for a subscription's queue,
// and giving up on a subscription whose client went away (the library's
// would block its server forever).
func notify(srv *server.Server, nid *ua.NodeID, v float64, ts time.Time) {
	mis := srv.MonitoredItemService
	mis.Mu.Lock()
	items := slices.Clone(mis.Nodes[nid.String()])
	mis.Mu.Unlock()
	for _, item := range items {
		if item == nil || item.Sub == nil || item.Req == nil || item.Req.RequestedParameters == nil {
			continue
		}
		dv := &ua.DataValue{Value: ua.MustVariant(v), SourceTimestamp: ts, Status: ua.StatusOK}
		dv.UpdateMask()
		n := &ua.MonitoredItemNotification{ClientHandle: item.Req.RequestedParameters.ClientHandle, Value: dv}
		select {
		case item.Sub.NotifyChannel <- n:
		case <-time.After(time.Second):
		}
	}
}
