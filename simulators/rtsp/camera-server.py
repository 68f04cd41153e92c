#!/usr/bin/python3
"""Camera simulator: a real RTSP server (GStreamer gst-rtsp-server) with switchable faults.

Run with Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-rtsp-server-1.0, python3-numpy,
gstreamer1.0-plugins-{base,good,ugly}). Driven by simulators/rtsp/server.ts over stdin/stdout,
one JSON object per line:
  in : {"cmd":"config","cameras":["c1"],"fps":10,"gopFrames":10,"port":0,"username":..,"password":..}
       (first line; credentials come on stdin so they never show in argv)
       {"cmd":"fault","camera":"c1","fault":"black"}
  out: {"event":"ready","port":N}   {"event":"fault","camera":"c1","fault":"black"}
       {"event":"error","message":"..."}
Each camera serves /<name>/main (640x360) and /<name>/sub (320x180), H.264 from x264enc. Media are
shared: every client of a mount gets the output of one encoder, so many analysis clients on a few
mounts cost little. The server exits when stdin closes or its parent dies, so it never outlives
the harness.
"""

import ctypes
import json
import os
import re
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402

FAULTS = {"ok", "offline", "stall", "frozen", "black", "covered", "turned", "blur", "bright", "dark", "cast"}
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SIZES = {"main": (scenes.W, scenes.H), "sub": (scenes.W // 2, scenes.H // 2)}
KEEP = GstRtspServer.RTSPFilterResult.KEEP
REMOVE = GstRtspServer.RTSPFilterResult.REMOVE


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def die_with_parent():
    """Linux: SIGTERM when the parent (the Node harness) dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            sys.exit(0)
    except OSError:
        pass


class Camera:
    def __init__(self, name, sim):
        self.name = name
        self.sim = sim
        self.fault = "ok"
        self.scenes = scenes.Scenes(name)
        self.srcs = {"main": [], "sub": []}  # appsrc of each prepared (shared) media
        self.medias = []
        self.factories = {}
        self.last = None  # (Y, U, V) last composed frame, for frozen
        self.last_bytes = {}

    def factory(self, stream):
        w, h = SIZES[stream]
        fps, gop = self.sim.fps, self.sim.gop
        # pass=quant: constant QP, so identical pictures encode to identical keyframes (frozen is
        # exactly frozen, as a stuck encoder is), unlike bit-rate control that re-quantises.
        # scenecut=0: keyframes exactly every gop frames, as a camera's fixed GOP.
        launch = (
            f"( appsrc name=src is-live=true do-timestamp=true format=time block=false "
            f"leaky-type=downstream max-bytes={w * h * 3} "
            f"caps=video/x-raw,format=I420,width={w},height={h},framerate={fps}/1 "
            f"! x264enc tune=zerolatency speed-preset=ultrafast threads=1 key-int-max={gop} "
            f'pass=quant quantizer=26 option-string="scenecut=0" '
            f"! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch(launch)
        f.set_shared(True)
        if self.sim.auth:
            f.add_role_from_structure(
                Gst.Structure.from_string(
                    "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
                )[0]
            )
        f.connect("media-configure", self.on_media, stream)
        return f

    def on_media(self, _factory, media, stream):
        src = media.get_element().get_by_name("src")
        self.srcs[stream].append(src)
        self.medias.append(media)

        def gone(m):
            if src in self.srcs[stream]:
                self.srcs[stream].remove(src)
            if m in self.medias:
                self.medias.remove(m)

        media.connect("unprepared", gone)

    def mount(self):
        for stream in ("main", "sub"):
            if stream not in self.factories:
                self.factories[stream] = self.factory(stream)
            self.sim.mounts.add_factory(f"/{self.name}/{stream}", self.factories[stream])

    def unmount(self):
        for stream in ("main", "sub"):
            self.sim.mounts.remove_factory(f"/{self.name}/{stream}")
            # A shared factory keeps its media until that media has unprepared; a client of the
            # camera back online must not be handed the one still shutting down from before.
            self.factories.pop(stream, None)

    def set_fault(self, fault):
        prev = self.fault
        self.fault = fault
        if fault == "offline" and prev != "offline":
            self.unmount()
            self.sim.close_clients_of(list(self.medias))
        elif prev == "offline" and fault != "offline":
            self.mount()

    def tick(self, t):
        if self.fault in ("stall", "offline"):
            return
        if not (self.srcs["main"] or self.srcs["sub"]):
            return  # nobody watching: draw nothing
        if self.fault != "frozen" or self.last is None:
            self.last = self.scenes.compose(t, self.fault)
            self.last_bytes = {}
        for stream, srcs in self.srcs.items():
            if not srcs:
                continue
            data = self.last_bytes.get(stream)
            if data is None:
                data = self.last_bytes[stream] = scenes.i420(self.last, stream == "sub")
            for src in srcs:
                src.emit("push-buffer", Gst.Buffer.new_wrapped(data))


class Sim:
    def __init__(self, cfg):
        self.fps = int(cfg.get("fps") or 10)
        self.gop = int(cfg.get("gopFrames") or self.fps)
        self.auth = bool(cfg.get("username")) and cfg.get("password") is not None
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address("127.0.0.1")
        self.server.set_service(str(int(cfg.get("port") or 0)))
        self.mounts = self.server.get_mount_points()
        if self.auth:
            auth = GstRtspServer.RTSPAuth()
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", "viewer")
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(cfg["username"], cfg["password"]), token)
            self.server.set_auth(auth)
        self.cameras = {}
        for name in cfg["cameras"]:
            if not NAME_RE.match(name):
                raise ValueError(f"bad camera name {name!r}")
            cam = self.cameras[name] = Camera(name, self)
            cam.mount()
        self.t0 = time.monotonic()
        self.frame = 0

    def start(self):
        if self.server.attach(None) == 0:
            raise RuntimeError("could not listen")
        self.schedule()
        return self.server.get_bound_port()

    def schedule(self):
        # Deadline-based so the frame rate does not drift with the time spent drawing.
        self.frame += 1
        delay = self.t0 + self.frame / self.fps - time.monotonic()
        GLib.timeout_add(max(0, int(delay * 1000)), self.on_tick)

    def on_tick(self):
        t = self.frame / self.fps
        for cam in self.cameras.values():
            try:
                cam.tick(t)
            except Exception as e:  # one camera's trouble must not stop the others
                print(f"camera {cam.name}: {e}", file=sys.stderr)
        self.schedule()
        return False

    def close_clients_of(self, medias):
        """Closes the RTSP connections that have a session on one of these media (camera offline)."""
        if not medias:
            return

        def on_client(_server, client, _data):
            hit = []

            def on_session(_client, session, _d):
                def on_sm(_session, sm, _d2):
                    if sm.get_media() in medias:
                        hit.append(True)
                    return KEEP

                session.filter(on_sm, None)
                return KEEP

            client.session_filter(on_session, None)
            return REMOVE if hit else KEEP

        self.server.client_filter(on_client, None)

    def command(self, line):
        try:
            msg = json.loads(line)
        except ValueError:
            emit({"event": "error", "message": "not JSON"})
            return
        if msg.get("cmd") != "fault":
            emit({"event": "error", "message": f"unknown cmd {msg.get('cmd')!r}"})
            return
        cam = self.cameras.get(msg.get("camera"))
        fault = msg.get("fault")
        if cam is None or fault not in FAULTS:
            emit({"event": "error", "message": f"unknown camera or fault: {msg.get('camera')!r} {fault!r}"})
            return
        cam.set_fault(fault)
        emit({"event": "fault", "camera": cam.name, "fault": fault})


def read_line_blocking(fd, buf):
    while b"\n" not in buf:
        chunk = os.read(fd, 65536)
        if not chunk:
            sys.exit(0)
        buf += chunk
    line, rest = buf.split(b"\n", 1)
    return line, rest


def main():
    die_with_parent()
    Gst.init(None)
    fd = sys.stdin.fileno()
    line, pending = read_line_blocking(fd, b"")
    cfg = json.loads(line)
    sim = Sim(cfg)
    loop = GLib.MainLoop()
    buf = [pending]

    def on_stdin(_fd, cond):
        chunk = os.read(fd, 65536) if cond & GLib.IOCondition.IN else b""
        if not chunk:
            loop.quit()  # the harness is gone
            return False
        buf[0] += chunk
        while b"\n" in buf[0]:
            ln, buf[0] = buf[0].split(b"\n", 1)
            if ln.strip():
                sim.command(ln.decode("utf-8", "replace"))
        return True

    GLib.io_add_watch(fd, GLib.PRIORITY_DEFAULT, GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, loop.quit)
    port = sim.start()
    emit({"event": "ready", "port": port})
    while b"\n" in buf[0]:
        ln, buf[0] = buf[0].split(b"\n", 1)
        if ln.strip():
            sim.command(ln.decode("utf-8", "replace"))
    loop.run()
    # Skip interpreter teardown of GStreamer objects: exit promptly and cleanly.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
