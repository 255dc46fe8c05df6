# Tripline's built-in pf.os-format SYN fingerprints (psad's p0f method).
#
# Written for Tripline from what these stacks put on the wire; not derived
# from psad's or p0f's databases. Format (psad reads it; spec §4.1):
#
#   window:ttl:df:size:options:  Genre:Version:Subtype:Description
#
#   window   exact, *, %N (multiple of N) or SN (N x MSS of the first option)
#   ttl      initial TTL; a packet matches with TTL in (ttl - MAX_HOPS, ttl]
#   df       0, 1 or *
#   size     IP total length: exact, * or %N
#   options  in order: N (NOP), S (SACK permitted), T (timestamp), T0
#            (timestamp with TSval 0), Mnnn / M* / M%nnn (MSS), Wnnn / W* /
#            W%nnn (window scale), or . for "anything"
#
# "verified" marks entries checked against real lines of the dev corpus
# (corpus/dev/syslog.log); the others follow the stacks' documented defaults.

# --- Linux -------------------------------------------------------------------

# Linux 3.x-6.x default: 64240 = 44 x 1460, MSS,SACK,TS,NOP,WS; WS 7 with
# stock tcp_rmem, 10 on newer kernels. verified: nmap -sT from a Linux host
# (198.51.100.10), the firewall's own OUTPUT SYNs (198.51.100.1), curl
# retries (198.51.100.200), forwarded ssh (203.0.113.100).
64240:64:1:60:M1460,S,T,N,W*:	Linux:3.x-6.x::Linux 3.x or newer

# Same stack with net.ipv4.tcp_timestamps=0.
64240:64:1:52:M1460,N,N,S,N,W*:	Linux:3.x-6.x:no-ts:Linux 3.x or newer (timestamps off)

# A Linux socket with a 5840-byte receive buffer (SO_RCVBUF, or the 2.4/2.6
# default): window 4 x MSS, WS 0. verified: python connect() scanner
# (198.51.100.18) and an embedded client (203.0.113.101).
S4:64:1:60:M*,S,T,N,W0:	Linux:2.6-6.x:rcvbuf:Linux with a 4 x MSS receive window

# --- Windows -----------------------------------------------------------------

# Windows 10/11: MSS,NOP,WS 8,NOP,NOP,SACK (no timestamps), DF, TTL 128.
64240:128:1:52:M*,N,W8,N,N,S:	Windows:10-11::Windows 10/11
65535:128:1:52:M*,N,W8,N,N,S:	Windows:10-11:server:Windows 10/11 or Server 2016+
# Windows 7/8/2012: 8192-byte window, same layout.
8192:128:1:52:M*,N,W*,N,N,S:	Windows:7-8::Windows 7/8/2012

# --- Apple -------------------------------------------------------------------

# macOS / iOS: MSS,NOP,WS,NOP,NOP,TS,SACK,EOL,EOL (24 option bytes).
65535:64:1:64:M*,N,W*,N,N,T,S:	MacOS:10.x-15::macOS or iOS

# --- BSD ---------------------------------------------------------------------

# FreeBSD 9 and newer: MSS,NOP,WS,SACK,TS.
65535:64:1:60:M*,N,W*,S,T:	FreeBSD:9-14::FreeBSD 9 or newer
# OpenBSD: MSS,NOP,NOP,SACK,NOP,WS,NOP,NOP,TS.
16384:64:1:64:M*,N,N,S,N,W*,N,N,T:	OpenBSD:4-7::OpenBSD 4 or newer

# --- Scanners ----------------------------------------------------------------

# nmap -sS raw SYN: window 1024 (older releases also 2048..4096), MSS 1460
# only, no DF, LEN 44, a random TTL of 37..59 (two entries cover it).
# verified: 198.51.100.10, .14, .15, 203.0.113.21, .22 and the decoys.
%1024:64:0:44:M1460:	NMap:SYN scan::nmap SYN scan (-sS)
%1024:44:0:44:M1460:	NMap:SYN scan::nmap SYN scan (-sS)

# nmap -O probes: WS 10,NOP,MSS 265,TS,SACK (window 31337, 256, ...).
# verified: 203.0.113.20.
*:64:0:60:W10,N,M265,T,S:	NMap:OS detection::nmap OS detection probe (-O)
*:44:0:60:W10,N,M265,T,S:	NMap:OS detection::nmap OS detection probe (-O)
