# A stand-in for the vagrant-tart provider (letiemble/vagrant-tart 1.0.0), for `vagrant validate` on
# machines without Tart. It registers a provider named :tart (box optional, parallel) whose config
# has exactly vagrant-tart's settings and checks them by the rules listed in
# shared/reference/contracts.md §D.1. Real Vagrant reports any other setting as one that
# "shouldn't exist". It cannot start machines.
require "etc"

module K0sluaTartStandIn
  class Config < Vagrant.plugin("2", :config)
    ATTRIBUTES = %i[image name registry username password gui audio clipboard cpus memory disk display
                    suspendable vnc vnc_experimental ip_resolver extra_run_args volumes].freeze
    attr_accessor(*ATTRIBUTES)

    def initialize
      ATTRIBUTES.each { |a| instance_variable_set("@#{a}", UNSET_VALUE) }
    end

    def finalize!
      @gui = false if @gui == UNSET_VALUE
      @audio = false if @audio == UNSET_VALUE
      @clipboard = false if @clipboard == UNSET_VALUE
      @cpus = 1 if @cpus == UNSET_VALUE
      @memory = 1024 if @memory == UNSET_VALUE
      @disk = 10 if @disk == UNSET_VALUE
      @display = "1024x768" if @display == UNSET_VALUE
      @suspendable = false if @suspendable == UNSET_VALUE
      @vnc = false if @vnc == UNSET_VALUE
      @vnc_experimental = false if @vnc_experimental == UNSET_VALUE
      @ip_resolver = "dhcp" if @ip_resolver == UNSET_VALUE
      @extra_run_args = [] if @extra_run_args == UNSET_VALUE
      @volumes = [] if @volumes == UNSET_VALUE
      %i[image name registry username password].each do |a|
        instance_variable_set("@#{a}", nil) if instance_variable_get("@#{a}") == UNSET_VALUE
      end
    end

    def validate(_machine)
      errors = _detected_errors
      errors << "Configuration must specify an image" if @image.nil? || @image.to_s.empty?
      errors << "Configuration must specify a virtual machine name" if @name.nil? || @name.to_s.empty?
      %i[gui audio clipboard suspendable vnc vnc_experimental].each do |a|
        value = instance_variable_get("@#{a}")
        errors << "#{a} must be true or false" unless [true, false].include?(value)
      end
      max_cpus = Etc.nprocessors
      errors << "Configuration must specify a valid CPUs count (between 1 and #{max_cpus})" unless @cpus.is_a?(Integer) && @cpus.between?(1, max_cpus)
      errors << "Configuration must specify a valid memory size" unless @memory.is_a?(Integer) && @memory >= 1
      errors << "Configuration must specify a valid disk size (greater than 1 GB)" unless @disk.is_a?(Integer) && @disk >= 1
      errors << "Configuration must specify a valid display size" unless @display.to_s.match?(/\A\d+x\d+\z/)
      errors << "Configuration must specify either vnc or vnc_experimental setting" if @vnc && @vnc_experimental
      errors << "ip_resolver must be dhcp or arp" unless %w[dhcp arp].include?(@ip_resolver)
      errors << "extra_run_args must be an Array" unless @extra_run_args.is_a?(Array)
      { "Tart Provider" => errors }
    end
  end

  class Provider < Vagrant.plugin("2", :provider)
    def initialize(machine)
      @machine = machine
    end

    def state
      Vagrant::MachineState.new(:not_created, "not created", "stand-in provider: no machines")
    end
  end

  class Plugin < Vagrant.plugin("2")
    name "tart (k0slua test stand-in)"
    config(:tart, :provider) { Config }
    provider(:tart, box_optional: true, parallel: true) { Provider }
  end
end
