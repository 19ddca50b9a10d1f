"""Seek and snapshots: the rules that decide which messages a subscription holds unacknowledged
after a seek ("Replay and purge messages with seek"; API reference, SeekRequest and Snapshot).

- Seek to a time: "Messages retained in the subscription that were published before this time
  are marked as acknowledged, and messages retained in the subscription that were published
  after this time are marked as unacknowledged." Only retained messages are affected: unacked
  ones within the message retention duration, and acked ones only when the subscription has
  ``retain_acked_messages`` (or its topic a message retention duration): otherwise an
  acknowledged message is gone and seeking back cannot bring it back ("already-expunged
  messages will not be restored"). A time in the future purges the backlog.
- A snapshot "retains the unacknowledged messages of the source subscription at the time of
  creation of the snapshot, and any messages published to the topic after the snapshot is
  created"; seeking to it makes exactly those unacknowledged, whatever retain_acked_messages
  says (the snapshot keeps them). Its lifetime is 7 days minus the age of the oldest unacked
  message, and Pub/Sub refuses one that would expire in less than an hour.
"""

from __future__ import annotations

SNAPSHOT_MAX_LIFETIME_S = 7 * 86_400.0
SNAPSHOT_MIN_LIFETIME_S = 3_600.0


class SeekError(ValueError):
    """A seek or snapshot Pub/Sub refuses (FAILED_PRECONDITION / NOT_FOUND in the API)."""


def retains_acked(retain_acked_messages: bool, topic_retention_s: float) -> bool:
    """Whether acknowledged messages stay available to seek: the subscription's
    retain_acked_messages, or a topic message retention duration ("Replay and purge messages
    with seek": either makes acked messages replayable)."""
    return retain_acked_messages or topic_retention_s > 0


def acked_retention_s(retain_acked_messages: bool, subscription_retention_s: float, topic_retention_s: float) -> float:
    """How long an acknowledged message stays seekable: the subscription's message retention
    duration with retain_acked_messages, the topic's retention if longer; 0 for none."""
    return max(subscription_retention_s if retain_acked_messages else 0.0, topic_retention_s)


def unacked_after_seek_to_time(published: float, acked: bool, retained: bool, time: float) -> bool:
    """After ``seek(time)``: is this message unacknowledged? Published before the time:
    acknowledged. At or after it: unacknowledged, if the subscription still retains it
    (``retained``: an unacked message within retention, or an acked one kept for seek);
    ``acked`` messages that are not retained stay gone."""
    if published < time:
        return False
    return retained or not acked


def snapshot_lifetime_s(now: float, oldest_unacked_published: float | None) -> float:
    """Snapshot.expire_time: 7 days minus the age of the oldest unacked message of the source
    subscription; "The service will refuse to create a snapshot that would expire in less
    than 1 hour after creation"."""
    age = 0.0 if oldest_unacked_published is None else max(0.0, now - oldest_unacked_published)
    lifetime = SNAPSHOT_MAX_LIFETIME_S - age
    if lifetime < SNAPSHOT_MIN_LIFETIME_S:
        raise SeekError("the snapshot would expire in less than 1 hour (the oldest unacked message is "
                        f"{age / 86_400:.1f} days old): Pub/Sub refuses to create it")
    return lifetime


def unacked_after_seek_to_snapshot(uid: int, published: float, snapshot_uids: set[int],
                                   snapshot_created: float) -> bool:
    """After ``seek(snapshot)``: unacknowledged exactly when it was unacked when the snapshot
    was taken, or was published after that."""
    return uid in snapshot_uids or published >= snapshot_created
