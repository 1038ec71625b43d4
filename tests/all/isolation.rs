//! Fresh and session isolation, and the pre-initialised snapshot following
//! the packages directory.

use crate::common::{cli, run, runtime, show};
use mung_runtime::{Isolation, Runtime};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn a_fresh_call_cannot_see_state_from_an_earlier_call() {
    let rt = runtime();
    rt.execute("import builtins; builtins.leaked = 'secret'; shared = 1", &json!({})).unwrap();
    let v = rt
        .execute("import builtins; [getattr(builtins, 'leaked', None), 'shared' in globals()]", &json!({}))
        .unwrap()
        .value;
    assert_eq!(v, json!([null, false]));
}

#[test]
fn a_session_keeps_state_until_reset() {
    let mut s = runtime().session();
    s.execute("import builtins; builtins.kept = 7; counter = 0", &json!({})).unwrap();
    for i in 1..=3 {
        assert_eq!(s.execute("counter += 1\ncounter", &json!({})).unwrap().value, json!(i));
    }
    s.reset().unwrap();
    assert!(s.execute("counter", &json!({})).is_err(), "reset forgets the names");
    // The interpreter itself (imports, builtins) stays: reset is not a restart.
    assert_eq!(s.execute("import builtins; builtins.kept", &json!({})).unwrap().value, json!(7));
    // sys.exit ends the session's interpreter; the next call starts a new one.
    s.execute("import sys; sys.exit(0)", &json!({})).unwrap_err();
    assert_eq!(s.execute("import builtins; getattr(builtins, 'kept', None)", &json!({})).unwrap().value, json!(null));
}

#[test]
fn fresh_typed_calls_start_from_the_snapshot() {
    let rt = Runtime::builder().isolation(Isolation::Fresh).build().unwrap();
    let xml = std::fs::read_to_string(crate::common::fixtures().join("small.xml")).unwrap();
    let a = rt.validate(&xml).unwrap();
    let b = rt.validate(&xml).unwrap();
    assert_eq!(a, b);
    assert!(rt.info().preinitialized);
}

#[test]
fn the_snapshot_is_immortal_plugged_and_keeps_no_trace_of_its_warm_up_calls() {
    let rt = runtime();
    // What was alive at snapshot time is immortal (its pages are not written
    // by reference counting); what a call makes is not, and still dies.
    let v = rt
        .execute(
            "import sys, weakref, mstudio.validation as v, numpy\n\
             class C: pass\n\
             c = C(); r = weakref.ref(c); del c\n\
             [sys._is_immortal(v), sys._is_immortal(v.validate), sys._is_immortal(numpy.add),\n\
              sys._is_immortal(C()), sys._is_immortal([]), r() is None]",
            &json!({}),
        )
        .unwrap()
        .value;
    assert_eq!(v, json!([true, true, true, false, false, true]));
    // The free blocks of the snapshot's heap are taken out of use.
    let plugs = rt.execute("import _mung_runtime as m; len(m._snapshot_plugs) > 0", &json!({})).unwrap().value;
    assert_eq!(plugs, json!(true));
    // The warm-up ran `sum(range(3)) * x` and `y = sum(range(3))\ny * x`
    // with x = 7 and validated a document: no name, compiled snippet or turn
    // source of them is left.
    let v = rt
        .execute(
            "import _mung_runtime as m, linecache\n\
             ['x' in globals() or 'y' in globals(), [s for s in m._compiled if 'sum(ra' + 'nge(3))' in s], \n\
              [k for k in linecache.cache if k.startswith('<turn ')]]",
            &json!({}),
        )
        .unwrap()
        .value;
    assert_eq!(v, json!([false, [], []]));
    // Immortal objects still behave: a list from the snapshot can change.
    let v = rt.execute("import sys; sys.path.append('/nowhere'); sys.path.pop()", &json!({})).unwrap().value;
    assert_eq!(v, json!("/nowhere"));
}

#[test]
fn warm_up_keeps_instances_only_where_they_are_reused() {
    let warm = Runtime::builder().max_instances(3).build().unwrap();
    warm.warm_up(2).unwrap();
    assert_eq!(warm.idle_instances(), 2);
    // Fresh typed calls never reuse an instance: warming up checks that one
    // starts and keeps none (it would only hold a slot).
    let fresh = Runtime::builder().isolation(Isolation::Fresh).max_instances(3).build().unwrap();
    fresh.warm_up(2).unwrap();
    assert_eq!(fresh.idle_instances(), 0);
    let xml = std::fs::read_to_string(crate::common::fixtures().join("small.xml")).unwrap();
    fresh.validate(&xml).unwrap();
    assert_eq!(fresh.idle_instances(), 0, "a fresh call's instance is dropped after it");
}

/// Polls `done` until it holds, for at most 60 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(60), "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What a fresh call may not see of earlier calls, and two draws of each
/// random generator (which the snapshot would otherwise freeze).
const FRESHNESS_PROBE: &str = "import builtins, json, random, numpy\n\
    [getattr(builtins, 'leaked', None), getattr(json, 'leaked', None), 'kept' in globals(), \
     '__mung_runtime_value__' in globals(), random.random(), float(numpy.random.random())]";

#[test]
fn a_prepared_fresh_instance_is_taken_by_the_next_call_and_is_as_fresh_as_a_new_one() {
    let rt = Runtime::builder().prepared_instances(1).build().unwrap();
    assert_eq!(rt.prepared_instances(), 0, "nothing is prepared before the first fresh call");
    rt.execute("import builtins, json; builtins.leaked = 1; json.leaked = 2; kept = 3", &json!({})).unwrap();
    wait_until("an instance is prepared", || rt.prepared_instances() == 1);

    // A slow call takes the prepared instance; while it runs, the preparer
    // makes no other (it works only between calls).
    let slow = {
        let rt = rt.clone();
        std::thread::spawn(move || {
            let code = format!("import time; time.sleep(0.5)\n{FRESHNESS_PROBE}");
            rt.execute(&code, &json!({})).map(|e| e.value).map_err(|e| e.to_string())
        })
    };
    wait_until("the call takes it", || rt.prepared_instances() == 0);
    for _ in 0..10 {
        assert_eq!(rt.prepared_instances(), 0, "nothing is prepared while a fresh call runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    let first = slow.join().unwrap().unwrap();
    assert_eq!(first.as_array().unwrap()[..4], [json!(null), json!(null), json!(false), json!(false)], "{first}");

    wait_until("the next is prepared", || rt.prepared_instances() == 1);
    let second = rt.execute(FRESHNESS_PROBE, &json!({})).unwrap().value;
    assert_eq!(second.as_array().unwrap()[..4], first.as_array().unwrap()[..4]);
    assert_ne!(second[4], first[4], "each instance draws its own `random` seed");
    assert_ne!(second[5], first[5], "and its own numpy seed");

    // The same as an instance made for the call.
    let unprepared = Runtime::builder().prepared_instances(0).build().unwrap();
    let third = unprepared.execute(FRESHNESS_PROBE, &json!({})).unwrap().value;
    assert_eq!(third.as_array().unwrap()[..4], first.as_array().unwrap()[..4]);
    assert_eq!(unprepared.prepared_instances(), 0, "prepared_instances(0) turns it off");
}

#[test]
fn a_call_that_needs_the_slot_of_a_prepared_instance_evicts_it() {
    let rt = Runtime::builder().max_instances(1).acquire_timeout(Duration::from_secs(20)).build().unwrap();
    assert_eq!(rt.execute("1 + 1", &json!({})).unwrap().value, json!(2));
    wait_until("an instance is prepared", || rt.prepared_instances() == 1);
    // The only slot is held by the prepared instance: a session gets it.
    let mut session = rt.session();
    assert_eq!(session.execute("x = 2\nx * 21", &json!({})).unwrap().value, json!(42));
    assert_eq!(rt.prepared_instances(), 0);
    drop(session);
    // Warm typed calls evict it too, and fresh calls go on working.
    let xml = std::fs::read_to_string(crate::common::fixtures().join("small.xml")).unwrap();
    rt.execute("2", &json!({})).unwrap();
    wait_until("an instance is prepared again", || rt.prepared_instances() == 1);
    assert!(!rt.validate(&xml).unwrap().is_empty());
    assert_eq!(rt.execute("3", &json!({})).unwrap().value, json!(3));
}

#[test]
fn exec_runs_scripts_apart_unless_asked_for_one_session() {
    let apart = run(cli().args(["exec", "-c", "x = 20", "-c", "globals().get('x', 0) + 1"]));
    assert!(apart.status.success(), "{}", show(&apart));
    assert_eq!(String::from_utf8_lossy(&apart.stdout), "1\n", "{}", show(&apart));
    let together = run(cli().args(["exec", "--session", "-c", "x = 20", "-c", "x + 1"]));
    assert!(together.status.success(), "{}", show(&together));
    assert_eq!(String::from_utf8_lossy(&together.stdout), "21\n", "{}", show(&together));
}

#[test]
fn the_snapshot_is_rebuilt_when_the_packages_change() {
    let base = runtime().info().clone();
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&base.packages_dir, dir.path());
    // An unchanged copy has the same contents: the same snapshot.
    let same = Runtime::builder().packages_dir(dir.path()).build().unwrap();
    assert_eq!(same.info().packages_hash, base.packages_hash);
    assert_eq!(same.info().compiled_path, base.compiled_path);
    assert_eq!(
        same.execute("import mstudio; getattr(mstudio, 'MARKER', None)", &json!({})).unwrap().value,
        json!(null)
    );

    let init = dir.path().join("mstudio/__init__.py");
    let mut text = std::fs::read_to_string(&init).unwrap();
    text.push_str("\nMARKER = 'changed'\n");
    std::fs::write(&init, text).unwrap();
    let changed = Runtime::builder().packages_dir(dir.path()).build().unwrap();
    assert_ne!(changed.info().packages_hash, base.packages_hash);
    assert_ne!(changed.info().compiled_path, base.compiled_path, "a new snapshot, compiled anew");
    assert!(changed.info().preinitialized);
    assert_eq!(changed.execute("import mstudio; mstudio.MARKER", &json!({})).unwrap().value, json!("changed"));
    // The change is in the snapshot: mstudio was imported before any call.
    assert_eq!(
        changed.execute("import sys; 'mstudio.validation' in sys.modules", &json!({})).unwrap().value,
        json!(true)
    );
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
