// sandpod-netpol: the dev node's NetworkPolicy enforcer.
//
// It runs the policy controller of sigs.k8s.io/kube-network-policies (imported, unmodified): its
// informers follow NetworkPolicies, Namespaces and Pods, and it gives a verdict on every packet
// that reaches its netfilter queue. That controller also tries to divert packets to the queue
// with an nftables `queue` statement, which this node's kernel may lack (CONFIG_NFT_QUEUE); the
// attempt then fails (logged, retried a few times, harmless) and the packets reach the queue
// through the iptables NFQUEUE target instead, which dev-cluster/pod-services.sh installs for
// the first packet of every connection a pod opens. No verdict means no packet: the rules use no
// --queue-bypass, so while this process is down new pod connections stop.
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the node's identity")
	nodeName := flag.String("node-name", "", "the node whose pods are policed")
	queueID := flag.Int("nfqueue-id", 100, "netfilter queue the iptables NFQUEUE rules send packets to")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" || *nodeName == "" {
		klog.Fatal("--kubeconfig and --node-name are required")
	}

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatalf("reading %s: %v", *kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		klog.Fatalf("client: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	factory := informers.NewSharedInformerFactory(client, 0)
	controller, err := networkpolicy.NewController(
		client,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil, // no AdminNetworkPolicy API: NetworkPolicy only
		networkpolicy.Config{
			QueueID:  *queueID,
			NodeName: *nodeName,
			// NRI stays "enabled" although the dev node's containerd serves no NRI socket: the
			// plugin then fails to connect (logged once) and pod addresses come from the API
			// server (pod status) alone. With NRIdisabled, v0.8.0 dereferences its nil NRI
			// plugin for every packet whose address is no pod's (the node, a Service) and dies.
			NRIdisabled: false,
			FailOpen:    false,
		},
	)
	if err != nil {
		klog.Fatalf("controller: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- controller.Run(ctx) }()
	factory.Start(ctx.Done())

	select {
	case err = <-done:
		// Run returns early only when it cannot open the queue: exit so the rules drop instead of
		// a process that looks alive but answers nothing.
		if err != nil {
			klog.Fatalf("controller stopped: %v", err)
		}
	case <-ctx.Done():
		<-done
	}
}
