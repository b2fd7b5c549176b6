"""What a Fox ESS KH would show in its registers for a given site state.

Written against protocols.md §1 with literal addresses (it is the device's side
of the contract), using only the word codecs from ``nodes.foxess.registers``.
Raw device signs: 31022 + = discharging; grid CT + = export on the 1.33 map and
+ = import on the pre-1.33 map; 31014 + = export (power-master's reading).
"""

from __future__ import annotations

from nodes.foxess.registers import (
    FAULT1_GRID_LOST,
    encode_ascii,
    encode_i16,
    encode_i32,
    encode_u16,
    encode_u32,
    encode_version,
)
from powermaster.sim.meter import COUNTERS
from powermaster.sim.site import SiteModel

MODEL_NAME = "KH10.5"
DEFAULT_VERSIONS = {"kh133": ("1.50", "1.30", "1.50"), "pre133": ("1.28", "1.20", "1.26")}
PV_STRING_VOLTS = 360.0
GRID_VOLTS = 240.0

#: Inclusive address ranges the device answers, per firmware (anything else is invalid).
COMMON_RANGES = ((31000, 31054), (32000, 32023))
READ_ONLY_RANGES = {
    "kh133": (
        (30000, 30015),
        *COMMON_RANGES,
        (36001, 36003),
        (37002, 37002),  # BMS connect state
        (37617, 37632),
        (39067, 39077),
        (39168, 39169),
        (39279, 39286),
    ),
    "pre133": ((30000, 30018), *COMMON_RANGES),
}
_SETTINGS_AND_REMOTE = ((41000, 41000), (41007, 41011), (44000, 44002))
WRITABLE_RANGES = {
    "kh133": (*_SETTINGS_AND_REMOTE, (46616, 46617)),  # + the export power limit, I32 W
    "pre133": _SETTINGS_AND_REMOTE,
}


class _Image(dict[int, int]):
    """Register words by address, with typed setters that clamp to the word size."""

    def u16(self, address: int, value: float) -> None:
        self[address] = encode_u16(max(0, min(0xFFFF, round(value))))

    def i16(self, address: int, value: float) -> None:
        self[address] = encode_i16(max(-0x8000, min(0x7FFF, round(value))))

    def i32(self, address: int, value: float) -> None:
        self[address], self[address + 1] = encode_i32(round(value))

    def u32(self, address: int, value: float) -> None:
        self[address], self[address + 1] = encode_u32(max(0, round(value)))


def register_image(
    model: SiteModel, firmware: str, versions: tuple[str, str, str] | None = None
) -> dict[int, int]:
    """All readable registers for the model's current time (call ``advance_to`` first)."""
    pre = firmware == "pre133"
    img = _Image()
    flows = model.flows()
    volts = model.battery.nominal_voltage_v
    strings = (flows.pv_used_w / 2, flows.pv_used_w / 2, 0.0, 0.0)
    ac_out = flows.ac_out_w
    off_grid = model.grid_lost

    for i, word in enumerate(encode_ascii(MODEL_NAME, 16)):
        img[30000 + i] = word
    vers = versions or DEFAULT_VERSIONS[firmware]
    for address, text in zip(
        (30016, 30017, 30018) if pre else (36001, 36002, 36003), vers, strict=True
    ):
        img[address] = encode_version(text)

    pv_addr = (31000, 31003, 31039, 31042) if pre else (39070, 39072, 39074, 39076)
    amps_gain = 10 if pre else 100
    for n, (address, power) in enumerate(zip(pv_addr, strings, strict=True)):
        string_volts = PV_STRING_VOLTS if power > 0 else 0.0
        img.i16(address, string_volts * 10)
        img.i16(address + 1, power / PV_STRING_VOLTS * amps_gain)
        if pre:
            img.i16(address + 2, power)
        else:
            img.i32(39279 + 2 * n, power)

    grid_volts = 0.0 if off_grid else GRID_VOLTS
    img.i16(31006, grid_volts * 10)
    img.i16(31007, abs(ac_out) / GRID_VOLTS * 10)
    img.i16(31009, 0 if off_grid else 5000)
    img.i16(31010, GRID_VOLTS * 10 if off_grid else 0)
    img.i16(31011, abs(ac_out) / GRID_VOLTS * 10 if off_grid else 0)
    img.i16(31013, 5000 if off_grid else 0)
    eps_power = ac_out if off_grid else 0.0
    if pre:
        img.i32(31045, ac_out)
        img.i32(31047, eps_power)
        img.i32(31049, flows.grid_w)  # + = import on pre-1.33
        img.i32(31053, flows.load_served_w)
    else:
        img.i16(31008, ac_out)
        img.i16(31012, eps_power)
        img.i16(31016, flows.load_served_w)
        img.i32(39168, -flows.grid_w)  # + = export on >= 1.33
    img.i16(31014, -flows.grid_w)
    img.i16(31018, 300 + abs(ac_out) / 100)
    img.i16(31019, 250)
    img.i16(31020, volts * 10)
    img.i16(31021, -flows.battery_w / volts * 10)
    img.i16(31022, -flows.battery_w)  # + = discharging
    img.i16(31023, 250)
    img.u16(31024, model.soc * 100)
    bms_charge = 0.0 if model.soc >= model.battery.soc_max else model.battery.max_charge_w
    bms_discharge = 0.0 if model.soc <= model.battery.soc_min else model.battery.max_discharge_w
    img.u16(31025, bms_charge / volts * 10)
    img.u16(31026, bms_discharge / volts * 10)
    img.u16(31027, 4 if off_grid else 3)
    img.u16(31028 if pre else 37002, 1)  # BMS connect state: 1 connected

    _energy(img, model)
    if not pre:
        img.i16(37617, 260)
        img.i16(37618, 240)
        img.u16(37619, 3300 + model.soc * 100)
        img.u16(37620, 3280 + model.soc * 100)
        img.u16(37624, 98)
        img.u16(37632, model.soc * model.battery.capacity_kwh * 100)
        img.u16(39067, FAULT1_GRID_LOST if off_grid else 0)

    s = model.settings
    img.u16(41000, int(s.work_mode))
    img.u16(41007, s.max_charge_current_da)
    img.u16(41008, s.max_discharge_current_da)
    img.u16(41009, s.min_soc_pct)
    img.u16(41010, s.max_soc_pct)
    img.u16(41011, s.min_soc_on_grid_pct)
    if not pre:
        own = model.grid.max_export_w if s.export_limit_w is None else s.export_limit_w
        img.i32(46616, own)
    img.u16(44000, 1 if model.remote.enabled else 0)
    img.u16(44001, model.remote.timeout_s)
    img.i16(44002, model.remote.setpoint_w)
    return dict(img)


def _energy(img: _Image, model: SiteModel) -> None:
    """32000-32023: U32 total then U16 today per counter, 0.1 kWh per count."""
    counters = model.meter.inverter_counters(model.time)
    for i, name in enumerate(COUNTERS):
        total, today = counters[name]
        img.u32(32000 + 3 * i, total)
        img.u16(32002 + 3 * i, today)
