#!/usr/bin/env python3
"""An independent TLS 1.3 SM peer for gmkit's interop tests (issue 4).

Drives the libssl API of BabaSSL 8.3.2 (OpenSSL 1.1.1 based, RFC 8998
suites), which the `tongsuopy==1.0.1` wheel links statically into
`tongsuopy/backends/_tongsuo.abi3.so`, through ctypes. No rustls, no gmkit
code: this is the other side of the handshake.

  peer.py server --port P --cert F --key F [--ca F] --suite S [--count N]
      Listens on 127.0.0.1:P (0 = any free port), prints "READY <port>",
      accepts N connections one after the other, echoes each until it closes and
      prints "CIPHER <name>" (and "CLIENT_CERT <subject>" when the client
      sent a verified certificate) per connection.
  peer.py client --port P --ca F [--cert F --key F] --suite S --send TEXT
      Connects to 127.0.0.1:P, verifies the server (name "localhost"),
      prints "CIPHER <name>", "VERSION <v>", "PEER_SIG_TYPE <t>" and
      "REPLY <text>" (the reply must equal what was sent). Exit 0 on success, 1 on any failure (the OpenSSL error
      queue is printed on stderr as "ERROR ...").

TLS 1.3 only; group "SM2" (BabaSSL's name for curveSM2) only; signature
algorithm sm2sig_sm3 only; SSL_CTX_enable_sm_tls13_strict. Every socket
has send/receive timeouts and the whole process an alarm, so nothing hangs.
"""

import argparse
import ctypes
import os
import signal
import socket
import struct
import sys

# OpenSSL 1.1.1 ssl.h / tls1.h constants (macros in C, so numbers here).
SSL_CTRL_SET_TLSEXT_HOSTNAME = 55
TLSEXT_NAMETYPE_host_name = 0
SSL_CTRL_SET_GROUPS_LIST = 92
SSL_CTRL_SET_SIGALGS_LIST = 98
SSL_CTRL_SET_CLIENT_SIGALGS_LIST = 102
SSL_CTRL_SET_MIN_PROTO_VERSION = 123
SSL_CTRL_SET_MAX_PROTO_VERSION = 124
TLS1_3_VERSION = 0x0304
SSL_FILETYPE_PEM = 1
SSL_VERIFY_PEER = 0x01
SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02
X509_V_OK = 0
SSL_ERROR_SYSCALL = 5
SSL_ERROR_ZERO_RETURN = 6

SUITES = ("TLS_SM4_GCM_SM3", "TLS_SM4_CCM_SM3")
GROUPS = b"SM2"
SIGALGS = b"sm2sig_sm3"


def load_lib():
    try:
        import tongsuopy  # noqa: F401  (only to locate the wheel)
    except ImportError:
        sys.stderr.write("ERROR tongsuopy is not installed: pip install tongsuopy==1.0.1\n")
        sys.exit(3)
    path = os.path.join(os.path.dirname(tongsuopy.__file__), "backends", "_tongsuo.abi3.so")
    lib = ctypes.CDLL(path)
    vp, cp, ci, cl = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_long
    sigs = {
        "OpenSSL_version": (cp, [ci]),
        "OPENSSL_init_ssl": (ci, [ctypes.c_uint64, vp]),
        "TLS_client_method": (vp, []),
        "TLS_server_method": (vp, []),
        "SSL_CTX_new": (vp, [vp]),
        "SSL_CTX_free": (None, [vp]),
        "SSL_CTX_ctrl": (cl, [vp, ci, cl, vp]),
        "SSL_CTX_set_ciphersuites": (ci, [vp, cp]),
        "SSL_CTX_enable_sm_tls13_strict": (None, [vp]),
        "SSL_CTX_use_certificate_chain_file": (ci, [vp, cp]),
        "SSL_CTX_use_PrivateKey_file": (ci, [vp, cp, ci]),
        "SSL_CTX_check_private_key": (ci, [vp]),
        "SSL_CTX_load_verify_locations": (ci, [vp, cp, cp]),
        "SSL_CTX_set_verify": (None, [vp, ci, vp]),
        "SSL_load_client_CA_file": (vp, [cp]),
        "SSL_CTX_set_client_CA_list": (None, [vp, vp]),
        "SSL_new": (vp, [vp]),
        "SSL_free": (None, [vp]),
        "SSL_ctrl": (cl, [vp, ci, cl, vp]),
        "SSL_set1_host": (ci, [vp, cp]),
        "SSL_set_fd": (ci, [vp, ci]),
        "SSL_connect": (ci, [vp]),
        "SSL_accept": (ci, [vp]),
        "SSL_read": (ci, [vp, vp, ci]),
        "SSL_write": (ci, [vp, cp, ci]),
        "SSL_shutdown": (ci, [vp]),
        "SSL_get_error": (ci, [vp, ci]),
        "SSL_get_current_cipher": (vp, [vp]),
        "SSL_CIPHER_get_name": (cp, [vp]),
        "SSL_get_version": (cp, [vp]),
        "SSL_get_verify_result": (cl, [vp]),
        "SSL_get_peer_certificate": (vp, [vp]),
        "SSL_get_peer_signature_type_nid": (ci, [vp, ctypes.POINTER(ci)]),
        "OBJ_nid2sn": (cp, [ci]),
        "X509_get_subject_name": (vp, [vp]),
        "X509_NAME_oneline": (cp, [vp, cp, ci]),
        "X509_free": (None, [vp]),
        "ERR_get_error": (ctypes.c_ulong, []),
        "ERR_error_string_n": (None, [ctypes.c_ulong, cp, ctypes.c_size_t]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    lib.OPENSSL_init_ssl(0, None)
    return lib


class TlsError(Exception):
    pass


def errors(lib):
    out = []
    buf = ctypes.create_string_buffer(256)
    while True:
        e = lib.ERR_get_error()
        if not e:
            break
        lib.ERR_error_string_n(e, buf, len(buf))
        out.append(buf.value.decode(errors="replace"))
    return "; ".join(out) or "(empty OpenSSL error queue)"


def check(lib, ok, what):
    if not ok:
        raise TlsError(f"{what} failed: {errors(lib)}")


def make_ctx(lib, server, args):
    method = lib.TLS_server_method() if server else lib.TLS_client_method()
    ctx = lib.SSL_CTX_new(method)
    check(lib, ctx, "SSL_CTX_new")
    check(lib, lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_3_VERSION, None) == 1,
          "set min proto TLS 1.3")
    check(lib, lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_3_VERSION, None) == 1,
          "set max proto TLS 1.3")
    check(lib, lib.SSL_CTX_set_ciphersuites(ctx, args.suite.encode()) == 1,
          f"SSL_CTX_set_ciphersuites({args.suite})")
    groups = ctypes.create_string_buffer(GROUPS)
    check(lib, lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, 0, ctypes.cast(groups, ctypes.c_void_p)) == 1,
          "set groups list SM2")
    sigalgs = ctypes.create_string_buffer(SIGALGS)
    check(lib, lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SIGALGS_LIST, 0, ctypes.cast(sigalgs, ctypes.c_void_p)) == 1,
          "set sigalgs list sm2sig_sm3")
    check(lib, lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_CLIENT_SIGALGS_LIST, 0,
                                ctypes.cast(sigalgs, ctypes.c_void_p)) == 1,
          "set client sigalgs list sm2sig_sm3")
    lib.SSL_CTX_enable_sm_tls13_strict(ctx)
    if args.cert:
        check(lib, lib.SSL_CTX_use_certificate_chain_file(ctx, args.cert.encode()) == 1,
              f"load certificate chain {args.cert}")
        check(lib, lib.SSL_CTX_use_PrivateKey_file(ctx, args.key.encode(), SSL_FILETYPE_PEM) == 1,
              f"load private key {args.key}")
        check(lib, lib.SSL_CTX_check_private_key(ctx) == 1, "certificate/key match")
    if args.ca:
        check(lib, lib.SSL_CTX_load_verify_locations(ctx, args.ca.encode(), None) == 1,
              f"load CA {args.ca}")
        if server:
            names = lib.SSL_load_client_CA_file(args.ca.encode())
            check(lib, names, "SSL_load_client_CA_file")
            lib.SSL_CTX_set_client_CA_list(ctx, names)
            lib.SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, None)
        else:
            lib.SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, None)
    return ctx


def set_timeouts(sock, secs):
    # Timeouts at the kernel level: Python's settimeout() would make the fd
    # non-blocking, which a blocking SSL_connect/SSL_accept cannot use.
    tv = struct.pack("ll", int(secs), 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)


def handshake_info(lib, ssl):
    cipher = lib.SSL_CIPHER_get_name(lib.SSL_get_current_cipher(ssl)).decode()
    version = lib.SSL_get_version(ssl).decode()
    return cipher, version


def peer_subject(lib, ssl):
    x = lib.SSL_get_peer_certificate(ssl)
    if not x:
        return None
    buf = ctypes.create_string_buffer(512)
    name = lib.X509_NAME_oneline(lib.X509_get_subject_name(x), buf, len(buf)).decode()
    lib.X509_free(x)
    return name


def ssl_failure(lib, ssl, ret, what):
    code = lib.SSL_get_error(ssl, ret)
    verify = lib.SSL_get_verify_result(ssl)
    return TlsError(f"{what} failed: ret={ret} SSL_get_error={code} verify_result={verify} "
                    f"errno={ctypes.get_errno()} {errors(lib)}")


def read_some(lib, ssl, limit=16384):
    buf = ctypes.create_string_buffer(limit)
    n = lib.SSL_read(ssl, buf, limit)
    if n <= 0:
        raise ssl_failure(lib, ssl, n, "SSL_read")
    return buf.raw[:n]


def run_client(lib, args):
    ctx = make_ctx(lib, False, args)
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    sock.settimeout(None)
    set_timeouts(sock, args.timeout)
    ssl = lib.SSL_new(ctx)
    check(lib, ssl, "SSL_new")
    try:
        name = ctypes.create_string_buffer(b"localhost")
        lib.SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     ctypes.cast(name, ctypes.c_void_p))
        check(lib, lib.SSL_set1_host(ssl, b"localhost") == 1, "SSL_set1_host")
        check(lib, lib.SSL_set_fd(ssl, sock.fileno()) == 1, "SSL_set_fd")
        ret = lib.SSL_connect(ssl)
        if ret != 1:
            raise ssl_failure(lib, ssl, ret, "SSL_connect")
        cipher, version = handshake_info(lib, ssl)
        print(f"CIPHER {cipher}", flush=True)
        print(f"VERSION {version}", flush=True)
        nid = ctypes.c_int(0)
        if lib.SSL_get_peer_signature_type_nid(ssl, ctypes.byref(nid)) == 1:
            print(f"PEER_SIG_TYPE {lib.OBJ_nid2sn(nid.value).decode()}", flush=True)
        print(f"VERIFY {lib.SSL_get_verify_result(ssl)}", flush=True)
        data = args.send.encode()
        if args.size:
            data = (data * (args.size // max(len(data), 1) + 1))[: args.size]
        n = lib.SSL_write(ssl, data, len(data))
        if n != len(data):
            raise ssl_failure(lib, ssl, n, "SSL_write")
        reply = b""
        while len(reply) < len(data):  # the echo may come back in pieces
            reply += read_some(lib, ssl)
        if reply != data:
            raise TlsError(f"echo mismatch: sent {len(data)} bytes, got {len(reply)} different bytes")
        if args.size:
            print(f"REPLY {len(reply)} bytes", flush=True)
        else:
            print(f"REPLY {reply.decode(errors='replace')}", flush=True)
        lib.SSL_shutdown(ssl)
    finally:
        lib.SSL_free(ssl)
        sock.close()
        lib.SSL_CTX_free(ctx)


def serve_one(lib, ctx, conn, args):
    set_timeouts(conn, args.timeout)
    ssl = lib.SSL_new(ctx)
    check(lib, ssl, "SSL_new")
    try:
        check(lib, lib.SSL_set_fd(ssl, conn.fileno()) == 1, "SSL_set_fd")
        ret = lib.SSL_accept(ssl)
        if ret != 1:
            raise ssl_failure(lib, ssl, ret, "SSL_accept")
        cipher, version = handshake_info(lib, ssl)
        print(f"CIPHER {cipher}", flush=True)
        print(f"VERSION {version}", flush=True)
        subject = peer_subject(lib, ssl)
        if subject is not None:
            print(f"CLIENT_CERT {subject} verify={lib.SSL_get_verify_result(ssl)}", flush=True)
        # Echo until the client closes (close_notify, or a bare EOF once
        # something was echoed).
        total = 0
        buf = ctypes.create_string_buffer(16384)
        while True:
            n = lib.SSL_read(ssl, buf, len(buf))
            if n <= 0:
                code = lib.SSL_get_error(ssl, n)
                if code == SSL_ERROR_ZERO_RETURN:
                    break
                if code == SSL_ERROR_SYSCALL and total > 0:
                    errors(lib)  # drop "unexpected eof" from the queue
                    break
                raise ssl_failure(lib, ssl, n, "SSL_read")
            w = lib.SSL_write(ssl, buf.raw[:n], n)
            if w != n:
                raise ssl_failure(lib, ssl, w, "SSL_write")
            total += n
        print(f"ECHOED {total}", flush=True)
        lib.SSL_shutdown(ssl)
    finally:
        lib.SSL_free(ssl)


def run_server(lib, args):
    ctx = make_ctx(lib, True, args)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(8)
    lsock.settimeout(args.timeout)
    print(f"READY {lsock.getsockname()[1]}", flush=True)
    failures = 0
    for _ in range(args.count):
        conn, _addr = lsock.accept()
        conn.settimeout(None)
        try:
            serve_one(lib, ctx, conn, args)
        except TlsError as e:
            failures += 1
            print(f"FAILED {e}", flush=True)
            sys.stderr.write(f"ERROR {e}\n")
        finally:
            conn.close()
    lsock.close()
    lib.SSL_CTX_free(ctx)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="mode", required=True)
    for mode in ("server", "client"):
        s = sub.add_parser(mode)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--cert")
        s.add_argument("--key")
        s.add_argument("--ca")
        s.add_argument("--suite", choices=SUITES, default="TLS_SM4_GCM_SM3")
        s.add_argument("--timeout", type=int, default=10, help="per socket operation")
        s.add_argument("--deadline", type=int, default=60, help="whole process")
        if mode == "server":
            s.add_argument("--count", type=int, default=1)
        else:
            s.add_argument("--send", default="hello")
            s.add_argument("--size", type=int, default=0,
                           help="send SIZE bytes (TEXT repeated) instead of TEXT once")
    args = p.parse_args()
    if bool(args.cert) != bool(args.key):
        p.error("--cert and --key go together")
    if args.mode == "server" and not args.cert:
        p.error("server needs --cert and --key")
    if args.mode == "client" and not args.ca:
        p.error("client needs --ca")
    signal.signal(signal.SIGALRM, lambda *_: (sys.stderr.write("ERROR deadline exceeded\n"), os._exit(4)))
    signal.alarm(args.deadline)

    lib = load_lib()
    sys.stderr.write(f"peer: {lib.OpenSSL_version(0).decode()}\n")
    try:
        if args.mode == "client":
            run_client(lib, args)
            return 0
        return run_server(lib, args)
    except (TlsError, OSError) as e:
        sys.stderr.write(f"ERROR {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
