# Runs Debian's cloud-init 22.4.2 DataSourceLXD (with Debian's /usr/bin/python3) against the guest
# socket given as argv[1], exactly as cloud-init-local would, and prints what it read as JSON.
import json, sys, tempfile
from cloudinit import distros, helpers
from cloudinit.sources import DataSourceLXD as lxd

lxd.LXD_SOCKET_PATH = sys.argv[1]
tmp = tempfile.mkdtemp()
paths = helpers.Paths({"cloud_dir": tmp, "run_dir": tmp})
distro = distros.fetch("debian")("debian", {}, paths)
ds = lxd.DataSourceLXD(sys_cfg={}, distro=distro, paths=paths)
ok = ds.get_data()
as_text = lambda v: v.decode("utf-8") if isinstance(v, bytes) else v
print(json.dumps({
    "ok": ok,
    "platform_viable": lxd.is_platform_viable(),
    "metadata": ds.metadata,
    "instance_id": ds.get_instance_id(),
    "userdata_raw": as_text(ds.userdata_raw),
    "vendordata_raw": as_text(ds.vendordata_raw),
    "network_config": ds.network_config,
    "config": ds._crawled_metadata.get("config"),
    "devices": ds._crawled_metadata.get("devices"),
    "instance_id_unchanged": ds.check_instance_id({}),
}, ensure_ascii=False))
