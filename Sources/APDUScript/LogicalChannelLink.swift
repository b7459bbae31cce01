import APDU
import CardTransport

/// Puts every command on one logical channel: the class byte is re-coded for
/// channel N (ISO/IEC 7816-4 section 5.4.1) on its way down, keeping its
/// secure-messaging indication. A secure channel sits above this link, so
/// its C-MAC covers the class byte with the channel bits zero, as
/// GlobalPlatform requires (GlobalPlatformPro's SCP03Wrapper MACs CLA 84 and
/// leaves the channel number to the layer below, as here).
final class LogicalChannelLink: CardChannel {
    let channel: LogicalChannel
    private let inner: CardChannel

    init(channel: LogicalChannel, inner: CardChannel) {
        self.channel = channel
        self.inner = inner
    }

    func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        var onChannel = command
        onChannel.cla = channel.encode(cla: command.cla, secureMessaging: LogicalChannel.hasSecureMessaging(cla: command.cla))
        return try inner.transmit(onChannel)
    }
}
