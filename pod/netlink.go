package pod

import (
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// deleteLink deletes network interface name with one rtnetlink request
// (RTM_DELLINK), as `ip link delete NAME` does.
func deleteLink(name string) error {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	const hdr, body = unix.SizeofNlMsghdr, unix.SizeofIfInfomsg
	req := make([]byte, hdr+body)
	*(*unix.NlMsghdr)(unsafe.Pointer(&req[0])) = unix.NlMsghdr{
		Len:   uint32(hdr + body),
		Type:  unix.RTM_DELLINK,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK,
		Seq:   1,
	}
	*(*unix.IfInfomsg)(unsafe.Pointer(&req[hdr])) = unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: int32(ifc.Index)}
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4 {
			if code := *(*int32)(unsafe.Pointer(&m.Data[0])); code != 0 {
				return fmt.Errorf("delete link %s: %w", name, unix.Errno(-code))
			}
			return nil
		}
	}
	return fmt.Errorf("delete link %s: no answer from the kernel", name)
}
