# Run cloud-init's own NoCloud network datasource (DataSourceNoCloudNet) against a seed URL and print
# what it read as JSON. Used by test/nocloud/cloud-init.test.ts, inside a network namespace.
import json
import sys
import tempfile

from cloudinit import distros, helpers, version
from cloudinit.sources.DataSourceNoCloud import DataSourceNoCloudNet

seed = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="gg-ci-")
paths = helpers.Paths({"cloud_dir": tmp, "run_dir": tmp + "/run", "templates_dir": tmp})
distro = distros.fetch("debian")("debian", {}, paths)
ds = DataSourceNoCloudNet(sys_cfg={"datasource": {"NoCloud": {"seedfrom": seed}}}, distro=distro, paths=paths)
ok = ds.get_data()
dec = lambda b: b.decode("utf-8") if isinstance(b, bytes) else b
print(json.dumps({
    "version": version.version_string(),
    "ok": ok,
    "metadata": ds.metadata,
    "userdata_raw": dec(ds.userdata_raw),
    "vendordata_raw": dec(ds.vendordata_raw),
    "instance_id": ds.get_instance_id(),
    "hostname": ds.metadata.get("local-hostname"),
}))
