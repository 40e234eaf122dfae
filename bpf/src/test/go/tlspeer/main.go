// SPDX-License-Identifier: Apache-2.0

// tlspeer: a Go crypto/tls server and client for tlscap's tests and benchmarks (standard library only).
//
//	tlspeer server [-keylog FILE]                       prints "listening https://127.0.0.1:PORT/"
//	tlspeer client -url URL [-n N] [-tls 12|13] [-h2] [-keylog FILE]   N requests, one connection each
//	tlspeer handshakes -url URL [-seconds S] [-c C] [-tls 12|13]        prints "handshakes N seconds S"
//
// With -keylog, Config.KeyLogWriter writes Go's own key log (mode 0600); without it KeyLogWriter is
// nil, as in a real program.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: tlspeer server|client|handshakes [flags]")
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	keyLog := flags.String("keylog", "", "write Go's own key log here")
	url := flags.String("url", "", "the server's URL")
	n := flags.Int("n", 1, "requests (client)")
	version := flags.Int("tls", 13, "12 or 13 (client)")
	h2 := flags.Bool("h2", false, "HTTP/2 (client)")
	seconds := flags.Float64("seconds", 5, "how long (handshakes)")
	concurrency := flags.Int("c", 2, "concurrent handshakes (handshakes)")
	flags.Parse(os.Args[2:])
	config := &tls.Config{InsecureSkipVerify: true, KeyLogWriter: keyLogWriter(*keyLog)}
	switch os.Args[1] {
	case "server":
		server(config)
	case "client":
		setVersion(config, *version)
		client(config, *url, *n, *h2)
	case "handshakes":
		setVersion(config, *version)
		handshakes(config, *url, time.Duration(*seconds*float64(time.Second)), *concurrency)
	default:
		log.Fatalf("unknown mode %s", os.Args[1])
	}
}

func keyLogWriter(path string) io.Writer {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0600)
	if err != nil {
		log.Fatal(err)
	}
	return f
}

func setVersion(config *tls.Config, version int) {
	if version == 12 {
		config.MaxVersion = tls.VersionTLS12
	} else {
		config.MinVersion = tls.VersionTLS13
	}
}

func certificate() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tlspeer"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func server(config *tls.Config) {
	config.Certificates = []tls.Certificate{certificate()}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s %s\n", r.Proto, r.URL.Path)
	})
	s := &http.Server{Handler: handler, TLSConfig: config, ErrorLog: log.New(ioutil.Discard, "", 0)}
	fmt.Printf("listening https://%s/\n", listener.Addr())
	log.Fatal(s.ServeTLS(listener, "", ""))
}

func client(config *tls.Config, url string, n int, h2 bool) {
	transport := &http.Transport{TLSClientConfig: config, DisableKeepAlives: true, ForceAttemptHTTP2: h2}
	if !h2 {
		transport.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	c := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	proto := ""
	for i := 0; i < n; i++ {
		r, err := c.Get(fmt.Sprintf("%s%d", url, i))
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(ioutil.Discard, r.Body)
		r.Body.Close()
		proto = r.Proto
		transport.CloseIdleConnections()
	}
	fmt.Printf("ok %s %d\n", proto, n)
}

// handshakes runs full handshakes (no session cache) for a while and prints how many completed.
func handshakes(config *tls.Config, url string, duration time.Duration, concurrency int) {
	address := url
	if len(address) > 8 && address[:8] == "https://" {
		address = address[8:]
	}
	if address[len(address)-1] == '/' {
		address = address[:len(address)-1]
	}
	var done, failed int64
	deadline := time.Now().Add(duration)
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < concurrency; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				conn, err := tls.Dial("tcp", address, config)
				if err == nil {
					err = conn.Handshake()
					conn.Close()
				}
				if err != nil {
					atomic.AddInt64(&failed, 1)
					continue
				}
				atomic.AddInt64(&done, 1)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("handshakes %d failed %d seconds %.3f\n", done, failed, time.Since(start).Seconds())
}
