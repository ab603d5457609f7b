//! Dropping privileges once the capture handle is open: packets are never parsed as root.

use crate::error::Error;

/// Gives up every privilege. As root: switch to `user` (its uid, gid and only its primary
/// group). Otherwise (a binary given capabilities with `setcap`): clear every capability.
/// In both cases no later `exec` may gain privileges again. Returns a description for the
/// start-up line.
pub fn drop_privileges(user: &str) -> Result<String, Error> {
    use nix::unistd::{getegid, geteuid, setgid, setgroups, setuid, Uid, User};
    let err = |what: &str, e: nix::Error| Error::Privileges(format!("{what} failed ({e})"));
    let text = if geteuid().is_root() {
        let u = User::from_name(user)
            .map_err(|e| err("looking up the user", e))?
            .ok_or_else(|| Error::Privileges(format!("there is no user `{user}`")))?;
        if u.uid.is_root() {
            return Err(Error::Privileges(format!(
                "`{user}` is root, and probewatch never parses packets as root"
            )));
        }
        setgroups(&[u.gid]).map_err(|e| err("setgroups", e))?;
        setgid(u.gid).map_err(|e| err("setgid", e))?;
        setuid(u.uid).map_err(|e| err("setuid", e))?;
        if setuid(Uid::from_raw(0)).is_ok() || geteuid().is_root() {
            return Err(Error::Privileges(
                "root could be regained after setuid".into(),
            ));
        }
        format!("running as user {user} (uid {}, gid {})", u.uid, getegid())
    } else {
        for set in [
            caps::CapSet::Ambient,
            caps::CapSet::Effective,
            caps::CapSet::Inheritable,
            caps::CapSet::Permitted,
        ] {
            caps::clear(None, set)
                .map_err(|e| Error::Privileges(format!("clearing capabilities failed ({e})")))?;
        }
        format!("running as uid {} with no capabilities", geteuid())
    };
    nix::sys::prctl::set_no_new_privs().map_err(|e| err("PR_SET_NO_NEW_PRIVS", e))?;
    Ok(text)
}
