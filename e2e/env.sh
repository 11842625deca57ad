# Sourced by the e2e scripts: one private work directory, one network namespace, Vagrant that
# never phones home and never touches the user's boxes or plugins.
export K0SLUA_E2E_WORK=${K0SLUA_E2E_WORK:-/var/tmp/k0slua-e2e}
export K0SLUA_E2E_CACHE=${K0SLUA_E2E_CACHE:-/var/cache/k0slua-e2e}
export K0SLUA_E2E_NETNS=${K0SLUA_E2E_NETNS:-k0slua-e2e}
export VAGRANT_HOME="$K0SLUA_E2E_WORK/vagrant-home"
export VAGRANT_CHECKPOINT_DISABLE=1
export VAGRANT_BOX_UPDATE_CHECK_DISABLE=1
export VAGRANT_DEFAULT_PROVIDER=libvirt
export LIBVIRT_DEFAULT_URI=qemu:///system
NS=(ip netns exec "$K0SLUA_E2E_NETNS")
