"""A freedesktop Notifications server on the session bus (python3-dbus) that records
every Notify call as one JSON line in OUTFILE. Prints "ready" once it owns the name.
"""
import json
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

OUT = sys.argv[1]
IFACE = "org.freedesktop.Notifications"


class Server(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/org/freedesktop/Notifications")
        self.next_id = 0

    @dbus.service.method(IFACE, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        self.next_id += 1
        rec = {
            "app": str(app),
            "icon": str(icon),
            "summary": str(summary),
            "body": str(body),
            "actions": [str(a) for a in actions],
            "urgency": int(hints.get("urgency", -1)),
            "category": str(hints.get("category", "")),
            "timeout": int(timeout),
        }
        with open(OUT, "a") as f:
            f.write(json.dumps(rec) + "\n")
        return self.next_id

    @dbus.service.method(IFACE, out_signature="as")
    def GetCapabilities(self):
        return ["body", "actions"]

    @dbus.service.method(IFACE, out_signature="ssss")
    def GetServerInformation(self):
        return ("test-notifyd", "tripline-tests", "1", "1.2")


DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
name = dbus.service.BusName(IFACE, bus)
srv = Server(bus)
print("ready", flush=True)
GLib.MainLoop().run()
